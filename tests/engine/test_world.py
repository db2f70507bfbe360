"""The synthetic world is learnable and the pixel judge is its independent truth.

1. No two labels render alike: on a grid of specs, every defect (and the clean video) at the geometry
   the tiny critic and generator use differs visibly from every other variant with different ratings.
2. The pixel judge, which sees nothing but frames and the prompt, agrees with the oracle (which knows
   what the renderer was told) on fresh renders, per dimension.
"""

import itertools

import numpy as np
import pytest

from alignment.engine.synthetic import (
    CLIP_FRAMES,
    CLIP_SIZE,
    DEFECT_KINDS,
    Defect,
    Defects,
    SceneSpec,
    judge,
    oracle_judge,
    render,
    sample_defects,
    sample_prompt,
)
from alignment.engine.synthetic.grammar import COUNTS, MOTIONS, SHAPES

VISIBLE_LEVELS = 24  # a pixel differs visibly when a channel moves by more than this (of 255)
VISIBLE_PIXELS = 12  # and a video differs visibly when at least this many pixels do


def variants() -> list[Defects]:
    """The clean video, every single defect, and "standing still" with each motion defect it can show."""
    single = [Defects(**{d: Defect(k, s)}) for d, kinds in DEFECT_KINDS.items() for k in kinds for s in ("mild", "severe")]
    still = Defect("wrong_motion", "mild")
    with_still = [Defects(semantic=still, motion=Defect("jitter", s)) for s in ("mild", "severe")]
    return [Defects(), *single, *with_still]


def labels(spec: SceneSpec, defects: Defects) -> tuple[str, ...]:
    return tuple(j.rating for j in oracle_judge(spec, defects).values())


@pytest.mark.parametrize("frames, size, colour, scene, counts", [
    (CLIP_FRAMES, CLIP_SIZE, "red", "on grass", COUNTS.values()),
    (CLIP_FRAMES, CLIP_SIZE, "white", "on a grey floor", COUNTS.values()),
    (12, (64, 64), "blue", "in a dark room", (2,)),  # another geometry: an even frame count
])
def test_no_two_labels_render_alike(frames, size, colour, scene, counts):
    closest = None
    for count, shape, motion in itertools.product(counts, SHAPES, MOTIONS):
        spec = SceneSpec(count, colour, shape, motion, scene)
        videos = [(d, render(spec, d, frames=frames, size=size, seed=3).astype(int)) for d in variants()]
        for (a, video_a), (b, video_b) in itertools.combinations(videos, 2):
            if labels(spec, a) == labels(spec, b):
                continue
            differing = int((np.abs(video_a - video_b).max(axis=-1) > VISIBLE_LEVELS).sum())
            if closest is None or differing < closest[0]:
                closest = (differing, spec.to_text(), a.to_dict(), b.to_dict())
    assert closest[0] >= VISIBLE_PIXELS, closest


def test_judge_agrees_with_the_oracle_on_fresh_renders():
    rng = np.random.default_rng(2024)
    agree = {d: 0 for d in ("semantic", "motion", "fidelity")}
    videos = 400
    for index in range(videos):
        spec, defects = sample_prompt(rng), sample_defects(rng)
        frames = render(spec, defects, frames=CLIP_FRAMES, size=CLIP_SIZE, seed=10_000 + index)
        verdict = judge(frames, spec.to_text())
        for dimension, truth in oracle_judge(spec, defects).items():
            agree[dimension] += verdict.ratings[dimension] == truth.rating
    shares = {d: n / videos for d, n in agree.items()}
    print("judge vs oracle:", shares)
    assert all(share >= 0.97 for share in shares.values()), shares


@pytest.mark.parametrize("dimension, kind", [(d, k) for d, kinds in DEFECT_KINDS.items() for k in kinds])
def test_judge_reads_each_defect_at_its_severity(dimension, kind):
    spec = SceneSpec(2, "green", "square", "moving right", "on sand")
    clean = judge(render(spec, frames=CLIP_FRAMES, size=CLIP_SIZE), spec)
    assert clean.ratings == {"semantic": "Good", "motion": "Good", "fidelity": "Good"}, clean.measures
    for severity, rating in (("mild", "Normal"), ("severe", "Bad")):
        frames = render(spec, Defects(**{dimension: Defect(kind, severity)}), frames=CLIP_FRAMES, size=CLIP_SIZE)
        verdict = judge(frames, spec)
        assert verdict.ratings[dimension] == rating, (severity, verdict.measures)
        assert verdict.levels[dimension] > clean.levels[dimension]


def test_judge_of_an_empty_picture_finds_nothing_to_praise():
    blank = np.full((CLIP_FRAMES, *CLIP_SIZE, 3), 128, dtype=np.uint8)
    verdict = judge(blank, "two red circles bouncing on a grey floor")
    assert verdict.ratings["semantic"] == "Bad" and verdict.ratings["motion"] == "Bad"
    assert verdict.measures["objects"] == 0
    assert verdict.reward < 0.5
