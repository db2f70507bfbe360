"""The synthetic world's ground truth: the rating and reason a careful annotator would give.

Exact by construction: it reads the same `shown_*` functions the renderer draws from, so what it
says is what the video shows. Answers follow LiFT-HRA: "<Rating>. <reason>".
"""

from __future__ import annotations

from dataclasses import dataclass

from .defects import RATING_FOR_SEVERITY, STILL, Defect, Defects, shown_colour, shown_count, shown_motion
from .grammar import NUMBER_WORDS, SceneSpec, shape_noun


@dataclass(frozen=True)
class Judgement:
    rating: str  # "Good" | "Normal" | "Bad"
    reason: str  # without the rating word

    @property
    def answer(self) -> str:
        """The LiFT-HRA answer text, e.g. "Bad. Two circles appear instead of three." """
        return f"{self.rating}. {self.reason}"


def _objects(spec: SceneSpec, count: int | None = None) -> str:
    return f"{NUMBER_WORDS[count or spec.count]} {shape_noun(spec.shape, count or spec.count)}"


def _the_objects(spec: SceneSpec) -> str:
    return f"the {shape_noun(spec.shape, spec.count)}"


def _motion_phrase(motion: str) -> str:
    return {"moving left": "move left", "moving right": "move right", "bouncing": "bounce", "spinning": "spin"}[motion]


def semantic_reason(spec: SceneSpec, defects: Defects) -> str:
    defect = defects.semantic
    if not defect.active:
        return f"The video shows {spec.to_text()}, as the prompt asks."
    if defect.kind == "wrong_colour":
        colour_name, _ = shown_colour(spec, defects)
        if defect.severity == "mild":
            return f"{_the_objects(spec).capitalize()} look {colour_name} rather than clearly {spec.colour}."
        return f"{_the_objects(spec).capitalize()} are {colour_name} instead of {spec.colour}."
    if defect.kind == "wrong_count":
        first_half, second_half = shown_count(spec, defects)
        if defect.severity == "mild":
            return (
                f"An extra {spec.shape} appears halfway through: "
                f"{NUMBER_WORDS[second_half]} instead of {NUMBER_WORDS[spec.count]}."
            )
        return f"{_objects(spec, first_half).capitalize()} appear instead of {NUMBER_WORDS[spec.count]}."
    motion = shown_motion(spec, defects)
    if motion == STILL:
        return f"{_the_objects(spec).capitalize()} stand still instead of {spec.motion}."
    return f"{_the_objects(spec).capitalize()} {_motion_phrase(motion)} instead of {spec.motion}."


MOTION_REASONS = {
    ("jitter", "mild"): "{objects} shake slightly from frame to frame.",
    ("jitter", "severe"): "{objects} jump erratically from frame to frame.",
    ("stutter", "mild"): "The motion hitches once: a frame is repeated.",
    ("stutter", "severe"): "The motion is choppy: frames are held again and again.",
    ("frame_drop", "mild"): "The motion skips once, as if frames were dropped.",
    ("frame_drop", "severe"): "Frames are dropped throughout; {objects_lower} jump ahead.",
}

_FIDELITY_REASONS = {
    ("noise", "mild"): "Light grain covers the frames.",
    ("noise", "severe"): "Heavy noise covers the frames and hides detail.",
    ("blur", "mild"): "The frames are slightly blurry.",
    ("blur", "severe"): "The frames are badly blurred; the shapes' edges are lost.",
    ("blocky", "mild"): "Some blocky compression artifacts are visible.",
    ("blocky", "severe"): "Severe blocky artifacts break up the picture.",
}


def motion_reason(spec: SceneSpec, defects: Defects) -> str:
    defect = defects.motion
    objects = _the_objects(spec)
    if not defect.active:
        if defects.objects_stand_still:
            return "Nothing moves, so there is no motion to break: it is steady."
        return f"{objects.capitalize()} move smoothly and naturally."
    template = MOTION_REASONS[(defect.kind, defect.severity)]
    return template.format(objects=objects.capitalize(), objects_lower=objects)


def fidelity_reason(defect: Defect) -> str:
    if not defect.active:
        return "The frames are clean and sharp, with no artifacts."
    return _FIDELITY_REASONS[(defect.kind, defect.severity)]


def oracle_judge(spec: SceneSpec, defects: Defects) -> dict[str, Judgement]:
    """Ratings and reasons for "semantic", "motion" and "fidelity"."""
    defects.validate()
    return {
        "semantic": Judgement(RATING_FOR_SEVERITY[defects.semantic.severity], semantic_reason(spec, defects)),
        "motion": Judgement(RATING_FOR_SEVERITY[defects.motion.severity], motion_reason(spec, defects)),
        "fidelity": Judgement(RATING_FOR_SEVERITY[defects.fidelity.severity], fidelity_reason(defects.fidelity)),
    }
