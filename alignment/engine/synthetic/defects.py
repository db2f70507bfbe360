"""Defects the renderer can put into a video, one per rated dimension, and what they change.

A severity maps straight to the LiFT rating: none → Good, mild → Normal, severe → Bad. The
functions `shown_colour`, `shown_count` and `shown_motion` say what a semantic defect puts on
screen; the renderer draws exactly that and the oracle describes exactly that, which is what
makes the oracle exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .grammar import COLOURS, COUNTS, SceneSpec

SEVERITIES = ("none", "mild", "severe")
RATING_FOR_SEVERITY = {"none": "Good", "mild": "Normal", "severe": "Bad"}
DIMENSIONS = ("semantic", "motion", "fidelity")

DEFECT_KINDS = {
    "semantic": ("wrong_colour", "wrong_count", "wrong_motion"),
    "motion": ("jitter", "stutter", "frame_drop"),
    "fidelity": ("noise", "blur", "blocky"),
}

# A severe wrong_motion shows a different action; a mild one shows the objects standing still.
OTHER_MOTION = {"moving left": "moving right", "moving right": "moving left", "bouncing": "spinning", "spinning": "bouncing"}
STILL = "still"
MAX_SHOWN_COUNT = max(COUNTS.values()) + 1


@dataclass(frozen=True)
class Defect:
    kind: str = "none"
    severity: str = "none"

    @property
    def active(self) -> bool:
        return self.severity != "none"

    def validate(self, dimension: str) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"{dimension}: severity must be one of {SEVERITIES}, got {self.severity!r}")
        if self.active and self.kind not in DEFECT_KINDS[dimension]:
            raise ValueError(f"{dimension}: kind must be one of {DEFECT_KINDS[dimension]}, got {self.kind!r}")


@dataclass(frozen=True)
class Defects:
    semantic: Defect = field(default_factory=Defect)
    motion: Defect = field(default_factory=Defect)
    fidelity: Defect = field(default_factory=Defect)

    @classmethod
    def clean(cls) -> "Defects":
        return cls()

    def validate(self) -> None:
        for dimension in DIMENSIONS:
            getattr(self, dimension).validate(dimension)
        if self.objects_stand_still and self.motion.kind in ("stutter", "frame_drop") and self.motion.active:
            # Repeating or dropping frames of a still picture changes nothing on screen.
            raise ValueError(f"a {self.motion.kind} on objects that stand still would not be visible")

    @property
    def objects_stand_still(self) -> bool:
        return self.semantic.kind == "wrong_motion" and self.semantic.severity == "mild"

    def to_dict(self) -> dict:
        return {d: {"kind": getattr(self, d).kind, "severity": getattr(self, d).severity} for d in DIMENSIONS}

    @classmethod
    def from_dict(cls, data: dict) -> "Defects":
        defects = cls(**{d: Defect(**data.get(d, {})) for d in DIMENSIONS})
        defects.validate()
        return defects


def _sample_defect(rng: np.random.Generator, dimension: str, p_clean: float) -> Defect:
    if rng.random() < p_clean:
        return Defect()
    kind = str(rng.choice(DEFECT_KINDS[dimension]))
    return Defect(kind=kind, severity=str(rng.choice(("mild", "severe"))))


def sample_defects(rng: np.random.Generator, p_clean: float = 0.4) -> Defects:
    """Each dimension independently clean with probability p_clean, else a random kind and severity.

    Combinations that would not be visible (see Defects.validate) are redrawn, so every sampled
    defect really shows in the video.
    """
    if not 0.0 <= p_clean <= 1.0:
        raise ValueError(f"p_clean must lie in [0, 1], got {p_clean}")
    while True:
        defects = Defects(**{d: _sample_defect(rng, d, p_clean) for d in DIMENSIONS})
        try:
            defects.validate()
            return defects
        except ValueError:
            continue


# Each colour's wrong colour, in pairs. Picked so that every wrong colour is unmistakably another colour
# (176-213 apart in RGB) and every halfway colour (a mild defect) stands at least 74 from every
# background: with the palette's "three steps on" mixes, green/purple and blue/white met halfway at
# a grey or a sky blue that vanished into the floor or the sky.
WRONG_COLOUR = {"red": "yellow", "yellow": "red", "green": "blue", "blue": "green", "purple": "white", "white": "purple"}


def wrong_colour_for(colour: str) -> str:
    return WRONG_COLOUR[colour]


def shown_colour(spec: SceneSpec, defects: Defects) -> tuple[str, tuple[int, int, int]]:
    """The colour name the oracle will say and the RGB the renderer will paint."""
    target = COLOURS[spec.colour]
    if defects.semantic.kind != "wrong_colour" or not defects.semantic.active:
        return spec.colour, target
    other = wrong_colour_for(spec.colour)
    if defects.semantic.severity == "severe":
        return other, COLOURS[other]
    halfway = tuple(int(round((a + b) / 2)) for a, b in zip(target, COLOURS[other]))
    return f"between {spec.colour} and {other}", halfway


def shown_count(spec: SceneSpec, defects: Defects) -> tuple[int, int]:
    """(objects in the first half, objects in the second half) of the video.

    Severe: the wrong number throughout (one more, or one fewer than three). Mild: the right
    number at first, then one extra object pops in halfway.
    """
    if defects.semantic.kind != "wrong_count" or not defects.semantic.active:
        return spec.count, spec.count
    if defects.semantic.severity == "mild":
        return spec.count, spec.count + 1
    wrong = spec.count + 1 if spec.count < max(COUNTS.values()) else spec.count - 1
    return wrong, wrong


def shown_motion(spec: SceneSpec, defects: Defects) -> str:
    if defects.semantic.kind != "wrong_motion" or not defects.semantic.active:
        return spec.motion
    return STILL if defects.semantic.severity == "mild" else OTHER_MOTION[spec.motion]
