"""The synthetic world's prompt grammar: "<count> <colour> <shape>s <motion> <scene>".

Example: "two red circles moving left on a grey floor". Every prompt this grammar can write,
`parse_prompt` can read back, and it also finds the phrases inside longer text (an expanded
caption, a prompt typed on the platform), so the world can render those too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

COUNTS = {"one": 1, "two": 2, "three": 3}
# RGB values picked so every colour stands apart from every background (see SCENES).
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 200, 70),
    "blue": (40, 80, 220),
    "yellow": (235, 215, 40),
    "purple": (150, 60, 200),
    "white": (245, 245, 245),
}

SHAPES = ("circle", "square", "triangle")
MOTIONS = ("moving left", "moving right", "bouncing", "spinning")

SCENES: dict[str, tuple[int, int, int]] = {
    "on a grey floor": (128, 128, 128),
    "in a blue sky": (135, 190, 235),
    "on grass": (90, 120, 50),
    "in a dark room": (30, 30, 40),
    "on sand": (210, 190, 140),
}

NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four"}


class PromptParseError(ValueError):
    """Text the synthetic world cannot render: says which part is missing."""


@dataclass(frozen=True)
class SceneSpec:
    count: int
    colour: str
    shape: str
    motion: str
    scene: str

    def validate(self) -> None:
        if self.count not in COUNTS.values():
            raise ValueError(f"count must be one of {sorted(COUNTS.values())}, got {self.count}")
        if self.colour not in COLOURS:
            raise ValueError(f"unknown colour {self.colour!r}; known: {', '.join(COLOURS)}")
        if self.shape not in SHAPES:
            raise ValueError(f"unknown shape {self.shape!r}; known: {', '.join(SHAPES)}")
        if self.motion not in MOTIONS:
            raise ValueError(f"unknown motion {self.motion!r}; known: {', '.join(MOTIONS)}")
        if self.scene not in SCENES:
            raise ValueError(f"unknown scene {self.scene!r}; known: {', '.join(SCENES)}")

    def to_text(self) -> str:
        return f"{NUMBER_WORDS[self.count]} {self.colour} {shape_noun(self.shape, self.count)} {self.motion} {self.scene}"

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict) -> "SceneSpec":
        spec = cls(**{key: data[key] for key in ("count", "colour", "shape", "motion", "scene")})
        spec.validate()
        return spec


def shape_noun(shape: str, count: int) -> str:
    return shape if count == 1 else f"{shape}s"


def sample_prompt(rng: np.random.Generator) -> SceneSpec:
    """Draw a uniformly random prompt of the grammar."""
    return SceneSpec(
        count=int(rng.choice(list(COUNTS.values()))),
        colour=str(rng.choice(list(COLOURS))),
        shape=str(rng.choice(SHAPES)),
        motion=str(rng.choice(MOTIONS)),
        scene=str(rng.choice(list(SCENES))),
    )


def distinct_prompts(count: int, seed: int, avoid=frozenset()) -> list[str]:
    """`count` different prompt texts drawn in order from `seed`, none of them in `avoid`."""
    rng, texts = np.random.default_rng(seed), []
    while len(texts) < count:
        text = sample_prompt(rng).to_text()
        if text not in avoid and text not in texts:
            texts.append(text)
    return texts


def _find_phrase(text: str, phrases) -> str | None:
    for phrase in sorted(phrases, key=len, reverse=True):  # longest first: "in a blue sky" before "blue"
        if re.search(rf"\b{re.escape(phrase)}\b", text):
            return phrase
    return None


def _remove(text: str, phrase: str | None) -> str:
    return text if phrase is None else re.sub(rf"\b{re.escape(phrase)}\b", " ", text, count=1)


def parse_prompt(text: str) -> SceneSpec:
    """Read a SceneSpec out of `text`.

    Colour and shape are required. A missing count means one ("a red circle"); a missing motion or
    scene takes the grammar's first entry, so any prompt naming a coloured shape can be rendered.
    """
    lowered = " ".join(re.sub(r"[^a-z ]", " ", text.lower()).split())
    scene = _find_phrase(lowered, SCENES)
    lowered = _remove(lowered, scene)  # the scene may name a colour ("blue sky") that is not the object's
    motion = _find_phrase(lowered, MOTIONS)
    lowered = _remove(lowered, motion)
    shape_match = re.search(rf"\b({'|'.join(SHAPES)})s?\b", lowered)
    colour = _find_phrase(lowered, COLOURS)
    missing = [name for name, found in (("colour", colour), ("shape", shape_match)) if found is None]
    if missing:
        raise PromptParseError(f"the prompt names no {' and no '.join(missing)} the synthetic world knows")
    count_word = _find_phrase(lowered, COUNTS)  # "a red circle" names no number: one
    count = COUNTS[count_word] if count_word else 1
    return SceneSpec(
        count=count,
        colour=colour,
        shape=shape_match.group(1),
        motion=motion or MOTIONS[0],
        scene=scene or next(iter(SCENES)),
    )
