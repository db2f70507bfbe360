"""Aligning the video model (LiFT reward-weighted likelihood, rejection sampling, InstructVideo-style
reward editing). No Django here: the job handler calls `align(...)` with plain data.

    from alignment.engine.align import AlignConfig, ScoredSample, RealClip, align
    result = align(AlignConfig(base=..., output_dir=...), samples, real, reward_fn=..., on_progress=...)
"""

from .config import AlignConfig, AlignConfigError
from .data import RealClip, ScoredSample
from .trainer import (
    AlignOutOfMemory,
    AlignResult,
    AlignTrainer,
    align,
    check_inputs,
    evaluate_reward,
    generate_scored_samples,
    latest_checkpoint,
    list_checkpoints,
)
from .video_stats import video_stats

__all__ = [
    "AlignConfig",
    "AlignConfigError",
    "AlignOutOfMemory",
    "AlignResult",
    "AlignTrainer",
    "RealClip",
    "ScoredSample",
    "align",
    "check_inputs",
    "evaluate_reward",
    "generate_scored_samples",
    "latest_checkpoint",
    "list_checkpoints",
    "video_stats",
]
