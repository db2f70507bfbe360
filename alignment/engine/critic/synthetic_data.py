"""Critic data from the synthetic world: rendered videos, the oracle's truth, noisy annotators."""

from __future__ import annotations

import numpy as np

from ..synthetic import CLIP_FRAMES, CLIP_SIZE, oracle_judge, render, sample_defects, sample_prompt
from .data import CriticExample
from .questions import DIMENSIONS, RATINGS


def noisy_rating(rating: str, noise: float, rng: np.random.Generator) -> str:
    """With probability `noise` a different rating drawn uniformly, else the true one."""
    if rng.random() < noise:
        return str(rng.choice([r for r in RATINGS if r != rating]))
    return rating


def synthetic_videos(num_videos: int, seed: int, *, frames: int = CLIP_FRAMES, size=CLIP_SIZE, p_clean: float = 0.4):
    """[(frames, caption, {dimension: Judgement})] rendered with random defects (oracle truth)."""
    rng = np.random.default_rng(seed)
    videos = []
    for index in range(num_videos):
        spec, defects = sample_prompt(rng), sample_defects(rng, p_clean)
        pixels = render(spec, defects, frames=frames, size=size, seed=seed * 100003 + index)
        videos.append((pixels, spec.to_text(), oracle_judge(spec, defects)))
    return videos


def annotated_examples(videos, *, annotators: int = 1, noise: float = 0.1, seed: int = 0) -> list[CriticExample]:
    """One example per (video, dimension, annotator): the oracle's answer with label noise."""
    rng = np.random.default_rng([seed, 7])
    examples = []
    for pixels, caption, judgements in videos:
        for _ in range(annotators):
            for dim in DIMENSIONS:
                truth = judgements[dim]
                rating = noisy_rating(truth.rating, noise, rng)
                reason = truth.reason if rating == truth.rating else ""
                examples.append(CriticExample(pixels, caption, dim, rating, reason))
    return examples


def truth_examples(videos) -> list[CriticExample]:
    return [CriticExample(p, c, d, j[d].rating, j[d].reason) for p, c, j in videos for d in DIMENSIONS]
