"""Aligning the video model (LiFT reward-weighted likelihood, rejection sampling, InstructVideo-style
reward editing, Diffusion-DPO on preference pairs). No Django here: the job handler calls `align(...)` with plain data.

    from alignment.engine.align import AlignConfig, ScoredSample, RealClip, align
    result = align(AlignConfig(base=..., output_dir=...), samples, real, reward_fn=..., on_progress=...)
    result = align(AlignConfig(base=..., output_dir=..., objective="dpo"), [], pairs=[PreferencePair(...), ...])

Names are imported on first use, so `config` and `compat` (no torch) serve the web process's checks.
"""

from importlib import import_module

_WHERE = {
    "AlignConfig": "config",
    "AlignConfigError": "config",
    "PreferencePair": "data",
    "RealClip": "data",
    "ScoredSample": "data",
    "VideoSource": "data",
    "pairs_from_scores": "data",
    "AlignOutOfMemory": "trainer",
    "AlignResult": "trainer",
    "AlignTrainer": "trainer",
    "MEMORY_ADVICE": "trainer",
    "align": "trainer",
    "check_inputs": "inputs",
    "evaluate_reward": "sampling",
    "generate_scored_samples": "sampling",
    "latest_checkpoint": "trainer",
    "list_checkpoints": "trainer",
    "video_stats": "video_stats",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_WHERE[name]}", __name__), name)
