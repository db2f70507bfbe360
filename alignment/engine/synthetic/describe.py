"""What the renderer drew, in words: the facts a tiny vision-language model is pretrained to tell
about a world video before it ever sees a rating (critic/pretrain.py).

    {"count": "two then three", "colour": "red", "shape": "circles", "motion": "moving left",
     "scene": "on grass", "timing": "even", "shake": "none", "picture": "grain"}

What is on screen (count per half, shown colour, shape, shown motion, scene), how the clip's instants
are spaced (timing), how much the objects shake and what damaged the picture. They are the renderer's
facts, never the oracle's ratings or the LiFT questions. (Where things are in each frame is taught
densely, from the renderer's coverage, not in words.)
"""

from __future__ import annotations

from .defects import Defects, shown_colour, shown_count, shown_motion
from .grammar import NUMBER_WORDS, SceneSpec, shape_noun

TIMING = {("none", "none"): "even", ("stutter", "mild"): "one repeat", ("stutter", "severe"): "repeats",
          ("frame_drop", "mild"): "one skip", ("frame_drop", "severe"): "skips"}
SHAKE = {"none": "none", "mild": "slight", "severe": "strong"}
PICTURE = {("none", "none"): "clean", ("noise", "mild"): "grain", ("noise", "severe"): "heavy grain",
           ("blur", "mild"): "blur", ("blur", "severe"): "heavy blur",
           ("blocky", "mild"): "tiles", ("blocky", "severe"): "big tiles"}
# Every word a description can use (the tiny tokenizer must know them).
DESCRIPTION_WORDS = sorted({
    *"then between and timing shake picture still yes no".split(),
    *(w for table in (TIMING, SHAKE, PICTURE) for phrase in table.values() for w in phrase.split()),
})


def _count_words(spec: SceneSpec, defects: Defects) -> str:
    first, second = shown_count(spec, defects)
    return NUMBER_WORDS[first] if first == second else f"{NUMBER_WORDS[first]} then {NUMBER_WORDS[second]}"


def facts(spec: SceneSpec, defects: Defects) -> dict[str, str]:
    """The renderer's facts about a render of `spec` with `defects`, part by part."""
    colour_name, _ = shown_colour(spec, defects)
    motion = shown_motion(spec, defects)
    motion_defect, fidelity = defects.motion, defects.fidelity
    return {
        "count": _count_words(spec, defects),
        "colour": colour_name,
        "shape": shape_noun(spec.shape, max(shown_count(spec, defects))),
        "motion": motion,
        "scene": spec.scene,
        "timing": TIMING.get((motion_defect.kind, motion_defect.severity), "even"),
        "shake": SHAKE[motion_defect.severity] if motion_defect.kind == "jitter" else "none",
        "picture": PICTURE[(fidelity.kind, fidelity.severity)],
    }
