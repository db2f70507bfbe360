"""Reasons for the pixel judge's ratings, in the oracle's words (so a critic trained on simulated
annotators who judge by it, and the tiny critic's tokenizer, know every word)."""

from __future__ import annotations

import numpy as np

from .grammar import COLOURS, NUMBER_WORDS, SceneSpec, shape_noun
from .judge import Verdict
from .defects import Defect, Defects
from .oracle import MOTION_REASONS, fidelity_reason, motion_reason

MOTION_PHRASE = {"moving left": "move left", "moving right": "move right", "bouncing": "bounce",
                 "spinning": "spin", "still": "stand still"}


def _nearest_colour(rgb, besides: str) -> str:
    """The palette colour nearest the measured one, other than `besides` (the prompt's)."""
    return min((name for name in COLOURS if name != besides),
               key=lambda name: float(np.linalg.norm(np.array(COLOURS[name]) - np.array(rgb))))


def semantic_text(spec: SceneSpec, verdict: Verdict) -> str:
    m = verdict.measures
    if verdict.ratings["semantic"] == "Good":
        return f"The video shows {spec.to_text()}, as the prompt asks."
    objects = f"The {shape_noun(spec.shape, spec.count)}"
    if m.get("objects", 0) == 0:
        return f"No {shape_noun(spec.shape, 2)} can be seen."
    worst = max(("colour_level", "count_level", "motion_level"), key=lambda k: m.get(k, 0.0))
    if worst == "colour_level":
        other = _nearest_colour(m["colour"], besides=spec.colour)
        if verdict.ratings["semantic"] == "Normal":
            return f"{objects} look between {spec.colour} and {other} rather than clearly {spec.colour}."
        return f"{objects} are {other} instead of {spec.colour}."
    if worst == "count_level":
        shown = min(int(m["objects"]), max(NUMBER_WORDS))
        return f"{NUMBER_WORDS[shown].capitalize()} {shape_noun(spec.shape, shown)} appear instead of {NUMBER_WORDS[spec.count]}."
    return f"{objects} {MOTION_PHRASE[m['shown_motion']]} instead of {spec.motion}."


def motion_text(spec: SceneSpec, verdict: Verdict) -> str:
    m, rating = verdict.measures, verdict.ratings["motion"]
    if rating == "Good" or m.get("objects", 0) == 0:
        return motion_reason(spec, Defects()) if m.get("objects", 0) else "Nothing can be seen moving."
    severity = "mild" if rating == "Normal" else "severe"
    kind = "jitter" if m.get("shake_level", 0.0) >= m.get("timing_level", 0.0) else "stutter"
    objects = f"the {shape_noun(spec.shape, spec.count)}"
    return MOTION_REASONS[(kind, severity)].format(objects=objects.capitalize(), objects_lower=objects)


def fidelity_text(verdict: Verdict) -> str:
    m, rating = verdict.measures, verdict.ratings["fidelity"]
    if rating == "Good":
        return fidelity_reason(Defect())
    levels = {"noise": m.get("noise_level", 0.0), "blur": m.get("blur_level", 0.0), "blocky": m.get("block_level", 0.0)}
    return fidelity_reason(Defect(max(levels, key=levels.get), "mild" if rating == "Normal" else "severe"))


def judged_reasons(spec: SceneSpec, verdict: Verdict) -> dict[str, str]:
    """A reason per dimension for the judge's ratings of a video of `spec`."""
    return {"semantic": semantic_text(spec, verdict), "motion": motion_text(spec, verdict),
            "fidelity": fidelity_text(verdict)}
