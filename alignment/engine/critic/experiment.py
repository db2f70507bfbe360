"""The critic's learning experiment, for the bench and for recipe search: simulated annotators (the
oracle plus label noise) rate world videos, a critic is fine-tuned from a base on their ratings, and
its held-out accuracy against the oracle's truth is compared with the majority-class baseline.

The CI test runs the same recipe through the platform (tests/loop/test_loop_improves.py: generate
job → simulated annotators over HTTP → snapshot → retrain_loop's train_critic → score job); this module runs it
without Django, on frames that went through the platform's H.264 storage when `through_codec` is set.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from .data import ScoreItem
from .config import JOB_FIELD_NAMES
from .evaluate import evaluate_ratings
from .questions import DIMENSIONS
from .score import score_videos
from .spec import CriticMeta, load_critic
from .synthetic_data import annotated_examples, synthetic_videos, truth_examples
from .train import CriticTrainConfig, train_critic

def base_recipe(base: str) -> dict:
    """The training settings a base was made to be fine-tuned with (its recipe is written in the train_critic
    job's parameter names), as config fields."""
    return {JOB_FIELD_NAMES.get(name, name): value for name, value in CriticMeta.load(base).recipe.items()}


@dataclass
class LearningSetup:
    """What one run varies: the base, data volume, noise and optimisation."""

    base: str = ""  # a critic directory (the pretrained tiny critic, or a random one for the control)
    train_videos: int = 600
    val_videos: int = 60
    test_videos: int = 240
    noise: float = 0.1  # simulated annotators' label noise
    with_reasons: bool | None = None  # None: as the base's recipe says
    through_codec: bool = True  # frames as the platform stores them (H.264 yuv420p) and reads them back
    seed: int = 0
    train: dict = field(default_factory=dict)  # changes to the base's recipe


def _through_codec(videos):
    from ..video_io import as_stored
    from .score import GENERATED_FPS

    stored = as_stored([pixels for pixels, _, _ in videos], fps=GENERATED_FPS)
    return [(frames, caption, judgements) for frames, (_, caption, judgements) in zip(stored, videos)]


def learning_videos(setup: LearningSetup) -> tuple[list, list, list]:
    """The setup's train, validation and held-out world videos, drawn from its seed."""
    prepare = _through_codec if setup.through_codec else (lambda videos: videos)
    return tuple(prepare(synthetic_videos(count, seed=offset + 1000 * setup.seed))
                 for offset, count in ((11, setup.train_videos), (12, setup.val_videos), (13, setup.test_videos)))


def learning_config(setup: LearningSetup) -> CriticTrainConfig:
    """The base's recipe with the setup's changes, validated every 100 steps, no checkpoints."""
    recipe = {**base_recipe(setup.base), **setup.train}
    if setup.with_reasons is not None:
        recipe["with_reasons"] = setup.with_reasons
    return CriticTrainConfig(**{"eval_every": 100, "eval_batch_size": 96, "num_threads": 0, **recipe,
                                "base": setup.base, "seed": setup.seed, "checkpoint_every": 0})


def run_learning_experiment(setup: LearningSetup, work_dir: str | Path) -> dict:
    """Fine-tune on noisy annotations, score held-out videos; the evaluation per dimension (accuracy,
    majority baseline, F1, calibration) plus steps, timings and scoring throughput."""
    work_dir = Path(work_dir)
    train, val, test = learning_videos(setup)
    config = learning_config(setup)
    train_examples = annotated_examples(train, noise=setup.noise, seed=setup.seed + 1)
    started = time.perf_counter()
    result = train_critic(config, train_examples, truth_examples(val), work_dir / "run")
    train_s = time.perf_counter() - started
    critic = load_critic(result.critic_dir)
    started = time.perf_counter()
    scores = score_videos(result.critic_dir, [ScoreItem(f, c) for f, c, _ in test], batch_size=96, critic=critic)
    score_s = time.perf_counter() - started
    truth = {d: [j[d].rating for _, _, j in test] for d in DIMENSIONS}
    predicted = {d: [s.dimensions[d].rating for s in scores] for d in DIMENSIONS}
    confidences = {d: [max(s.dimensions[d].probs.values()) for s in scores] for d in DIMENSIONS}
    train_labels = {d: [e.rating for e in train_examples if e.dimension == d] for d in DIMENSIONS}
    report = evaluate_ratings(truth, predicted, confidences, train_labels)
    report.update(setup=asdict(setup), critic_dir=str(result.critic_dir), steps=result.steps, best_step=result.best_step,
                  final_train_loss=result.loss_curve[-1][1], train_s=train_s, step_s=train_s / max(1, result.steps),
                  scoring_videos_per_s=len(test) / score_s)
    return report


def summary(report: dict) -> dict:
    """{dimension: {accuracy, majority}} rounded, for printing and RESULTS.md."""
    return {d: {"accuracy": round(report[d]["accuracy"], 3), "majority": round(report[d]["majority_accuracy"], 3)}
            for d in DIMENSIONS if d in report}


def with_changes(setup: LearningSetup, **changes) -> LearningSetup:
    train = {**setup.train, **changes.pop("train", {})}
    return replace(setup, train=train, **changes)
