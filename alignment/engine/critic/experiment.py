"""The learning experiment of issue #6, shared by the CI test and the bench: simulated annotators
(the oracle plus label noise) rate synthetic videos, a tiny critic is trained on their ratings,
and its held-out accuracy against the oracle's truth is compared with the majority-class baseline.

Django-free: the data is built through the engine (render → oracle → noisy ratings).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from .data import ScoreItem
from .evaluate import evaluate_ratings
from .questions import DIMENSIONS
from .score import score_videos
from .spec import load_critic
from .synthetic_data import annotated_examples, synthetic_videos, truth_examples
from .tiny import build_tiny_critic
from .train import CriticTrainConfig, train_critic


@dataclass
class LearningSetup:
    """What one run varies: model geometry and size, data volume, optimisation."""

    num_frames: int = 4
    frame_size: tuple[int, int] = (56, 56)
    patch_size: int = 14
    temporal_patch_size: int = 2
    hidden_size: int = 64
    train_videos: int = 500
    val_videos: int = 60
    test_videos: int = 120
    noise: float = 0.1  # simulated annotators' label noise
    dimensions: tuple[str, ...] = DIMENSIONS  # train and score only these (one, to isolate a dimension)
    with_reasons: bool = True
    steps: int = 400
    batch_size: int = 32
    learning_rate: float = 1e-3
    warmup_ratio: float = 0.05
    rating_weight: float = 1.0
    balance: str = "none"
    num_threads: int = 1
    seed: int = 0
    # A curriculum: first `first_steps` steps on `first_dimensions` alone (the per-frame one, which
    # teaches the answer position to read the video), then `steps` on all `dimensions` from there.
    first_dimensions: tuple[str, ...] = ()
    first_steps: int = 0
    first_learning_rate: float = 0.0  # of the first phase; 0: learning_rate
    then_finetune: str = "full"  # of the mixed phase: "lora" keeps the vision tower the first phase taught
    train_overrides: dict = field(default_factory=dict)


def run_learning_experiment(setup: LearningSetup, work_dir: str | Path) -> dict:
    """Train on noisy annotations, score held-out videos; the evaluation report per dimension plus
    steps, final loss and timings (train s, s/step, scoring videos/s)."""
    work_dir = Path(work_dir)
    base = build_tiny_critic(work_dir / "base", seed=setup.seed, num_frames=setup.num_frames,
                             frame_size=setup.frame_size, patch_size=setup.patch_size,
                             temporal_patch_size=setup.temporal_patch_size, hidden_size=setup.hidden_size)
    # The renderer needs at least 4 frames; the critic samples its own number from them.
    render = dict(frames=max(4, setup.num_frames), size=setup.frame_size)
    train = synthetic_videos(setup.train_videos, seed=11 + 1000 * setup.seed, **render)
    val = synthetic_videos(setup.val_videos, seed=12 + 1000 * setup.seed, **render)
    test = synthetic_videos(setup.test_videos, seed=13 + 1000 * setup.seed, **render)
    config = CriticTrainConfig(
        base=str(base), finetune="full", with_reasons=setup.with_reasons, balance=setup.balance,
        learning_rate=setup.learning_rate, batch_size=setup.batch_size, max_steps=setup.steps,
        eval_every=max(1, setup.steps // 4), eval_batch_size=96, warmup_ratio=setup.warmup_ratio,
        rating_weight=setup.rating_weight, num_threads=setup.num_threads, seed=setup.seed,
        **setup.train_overrides,
    )
    dims = tuple(setup.dimensions)
    train_examples = [e for e in annotated_examples(train, noise=setup.noise, seed=setup.seed + 1) if e.dimension in dims]
    val_examples = [e for e in truth_examples(val) if e.dimension in dims]
    started = time.perf_counter()
    first_steps = 0
    if setup.first_steps and setup.first_dimensions:
        first = train_critic(
            replace(config, max_steps=setup.first_steps, eval_every=max(1, setup.first_steps // 2),
                    learning_rate=setup.first_learning_rate or setup.learning_rate),
            [e for e in train_examples if e.dimension in setup.first_dimensions],
            [e for e in val_examples if e.dimension in setup.first_dimensions], work_dir / "first")
        config, first_steps = replace(config, base=str(first.critic_dir), finetune=setup.then_finetune), first.steps
    result = train_critic(config, train_examples, val_examples, work_dir / "run")
    train_s = time.perf_counter() - started
    critic = load_critic(result.critic_dir)
    started = time.perf_counter()
    scores = score_videos(result.critic_dir, [ScoreItem(f, c) for f, c, _ in test], batch_size=96, critic=critic,
                          dimensions=dims)
    score_s = time.perf_counter() - started
    truth = {d: [j[d].rating for _, _, j in test] for d in dims}
    predicted = {d: [s.dimensions[d].rating for s in scores] for d in dims}
    confidences = {d: [max(s.dimensions[d].probs.values()) for s in scores] for d in dims}
    train_labels = {d: [e.rating for e in train_examples if e.dimension == d] for d in dims}
    report = evaluate_ratings(truth, predicted, confidences, train_labels)
    report.update(
        setup=asdict(setup), steps=first_steps + result.steps, best_step=result.best_step,
        final_train_loss=result.loss_curve[-1][1], train_s=train_s, step_s=train_s / max(1, first_steps + result.steps),
        scoring_videos_per_s=len(test) / score_s,
    )
    return report


def summary(report: dict) -> dict:
    """{dimension: {accuracy, majority}} rounded, for printing and RESULTS.md."""
    return {d: {"accuracy": round(report[d]["accuracy"], 3), "majority": round(report[d]["majority_accuracy"], 3)}
            for d in DIMENSIONS if d in report}
