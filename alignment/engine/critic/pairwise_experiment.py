"""The preference critic's learning experiment (issue "pairwise preference", deliverable 4): pairs of world
videos of one prompt (two independent defect draws), judged per dimension by the truth (the oracle's ratings:
the better-rated side wins, equal ratings tie) with label noise, a Bradley–Terry critic trained on them from a
base, and its pairwise accuracy on held-out pairs against the truth, with and without ties. Chance without
ties is 0.5."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from .pairwise import PairExample, preference_critic, score_pairs, train_pairwise
from .preference import accuracy_with_ties, accuracy_without_ties, noisy_outcome, outcome
from .questions import DIMENSIONS


@dataclass
class PairSetup:
    base: str = ""
    train_pairs: int = 600
    test_pairs: int = 240
    noise: float = 0.1  # share of labels replaced by another outcome drawn uniformly
    steps: int = 300
    batch_size: int = 16
    learning_rate: float = 1e-3
    finetune: str = "full"
    through_codec: bool = True
    seed: int = 0
    # noisy held-out pairs the trainer validates on every `eval_every` steps, keeping its best step's weights, as
    # the train_preference_critic job does with a snapshot's validation split (0: train a fixed number of steps)
    validation_pairs: int = 0
    eval_every: int = 100
    readout: str = "caption"  # or "questions": each dimension read after its rating question
    # a trained rating critic measured on the same held-out pairs through its expected reward per dimension ("" none)
    rating_critic: str = ""


def world_pairs(count: int, seed: int, noise: float, through_codec: bool) -> tuple[list[PairExample], list[dict]]:
    """(pairs with noisy labels, the true labels): two renders of one world prompt with independent defects."""
    from ..synthetic import CLIP_FRAMES, CLIP_SIZE, oracle_judge, render, sample_defects, sample_prompt
    from .experiment import _through_codec

    rng, noise_rng = np.random.default_rng([seed, 31]), np.random.default_rng([seed, 37])  # noise never moves the videos
    specs, sides = [], []  # sides[2i], sides[2i+1]: pair i's two (frames, oracle's judgements)
    for index in range(count):
        specs.append(spec := sample_prompt(rng))
        for side in range(2):
            defects = sample_defects(rng)
            frames = render(spec, defects, frames=CLIP_FRAMES, size=CLIP_SIZE, seed=seed * 1_000_003 + 2 * index + side)
            sides.append((frames, oracle_judge(spec, defects)))
    if through_codec:  # all at once: one encoder run per pair costs many times more
        sides = [(frames, judged) for (frames, _, judged) in _through_codec([(f, "", j) for f, j in sides])]
    pairs, truths = [], []
    for index, spec in enumerate(specs):
        (frames_a, judged_a), (frames_b, judged_b) = sides[2 * index], sides[2 * index + 1]
        truth = {d: outcome(judged_a[d].rating, judged_b[d].rating) for d in DIMENSIONS}
        noisy = {d: noisy_outcome(t, noise, noise_rng) for d, t in truth.items()}
        pairs.append(PairExample(spec.to_text(), frames_a, frames_b, noisy))
        truths.append(truth)
    return pairs, truths


def run_pairwise_experiment(setup: PairSetup) -> dict:
    """Train on noisy pairs, measure on held-out pairs against the truth: per dimension accuracy without and
    with ties, the share of ties, plus steps and timings."""
    train, _ = world_pairs(setup.train_pairs, 100 + setup.seed, setup.noise, setup.through_codec)
    test, truth = world_pairs(setup.test_pairs, 200 + setup.seed, 0.0, setup.through_codec)
    validation = (world_pairs(setup.validation_pairs, 300 + setup.seed, setup.noise, setup.through_codec)[0]
                  if setup.validation_pairs else [])
    critic = preference_critic(setup.base, DIMENSIONS, finetune=setup.finetune, seed=setup.seed, readout=setup.readout)
    started = time.perf_counter()
    training = train_pairwise(critic, train, steps=setup.steps, batch_size=setup.batch_size,
                              learning_rate=setup.learning_rate, seed=setup.seed, validation=validation,
                              eval_every=setup.eval_every)
    train_s = time.perf_counter() - started
    score_a, score_b = score_pairs(critic, test)
    report = {"setup": asdict(setup), "train_s": round(train_s, 1), "final_loss": float(np.mean(training.losses[-20:])),
              "validation_curve": training.val_curve, "best_step": training.best_step}
    for d, dim in enumerate(DIMENSIONS):
        labels = [t[dim] for t in truth]
        report[dim] = {**_pair_accuracy(score_a[:, d], score_b[:, d], labels),
                       "tie_share": float(np.mean([label == "tie" for label in labels]))}
    if setup.rating_critic:
        for dim, figures in _rating_critic_on(setup.rating_critic, test, truth).items():
            report[dim]["rating_critic"] = figures
    return report


def _rating_critic_on(critic_dir: str, pairs: list[PairExample], truth: list[dict]) -> dict:
    """The rating critic on the same pairs: per dimension, its expected reward of A against B's."""
    from .data import ScoreItem
    from .score import score_videos

    items = [ScoreItem(frames, pair.caption) for pair in pairs for frames in (pair.frames_a, pair.frames_b)]
    scores = score_videos(critic_dir, items, batch_size=96)
    out = {}
    for dim in DIMENSIONS:
        rewards = np.array([s.dimensions[dim].expected_reward for s in scores]).reshape(-1, 2)
        out[dim] = _pair_accuracy(rewards[:, 0], rewards[:, 1], [t[dim] for t in truth])
    return out


def _pair_accuracy(score_a, score_b, labels: list[str]) -> dict:
    """Accuracy without ties, and with ties below a score gap calibrated on these pairs (and that gap)."""
    with_ties, threshold = accuracy_with_ties(score_a, score_b, labels)
    return {"accuracy_without_ties": accuracy_without_ties(score_a, score_b, labels),
            "accuracy_with_ties": with_ties, "tie_threshold": threshold}
