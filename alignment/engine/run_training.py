"""The training child: `python -m alignment.engine.run_training SPEC.json`, one process or N under torchrun,
for the two trainings that spread over GPUs: `align` and `train_critic`.

SPEC.json (written by the worker, `launch.write_spec`):
    {"kind": "align", "config": {AlignConfig fields}, "samples": [{"prompt", "video_path", "reward",
     "ratings", "metadata"}], "real": [{"prompt", "video_path"}], "validation_prompts": [...],
     "pairs": [{"prompt", "preferred": {"video_path"}, "rejected": {"video_path"}, "metadata"}] (objective dpo),
     "reward": a reward spec (engine/rewards.py)}
    {"kind": "train_critic", "config": {CriticTrainConfig fields}, "out_dir": str,
     "train": [{"video", "caption", "dimension", "rating", "reason"}], "validation": [the same]}

Every rank runs the same trainer; accelerate joins them (NCCL on GPUs, gloo on the CPU) and gives each its
share of the global batch. Rank 0 alone writes checkpoints, curves and artifacts (the trainer guards each
write with `is_main_process`) and alone prints the progress lines the worker reads (`launch.emit`).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def _reward_fn(spec: dict, device: str):
    from .rewards import reward_from_spec

    return reward_from_spec(spec.get("reward"), device)


def run_align(spec: dict) -> dict:
    import torch

    from .align import AlignConfig, PreferencePair, RealClip, ScoredSample, VideoSource, align
    from .launch import emit

    local = int(__import__("os").environ.get("LOCAL_RANK", "0"))
    device = f"cuda:{local}" if torch.cuda.is_available() else "cpu"
    samples = [ScoredSample(**row) for row in spec.get("samples", [])]
    real = [RealClip(**row) for row in spec.get("real", [])]
    pairs = [PreferencePair(prompt=row["prompt"], preferred=VideoSource(**row["preferred"]),
                            rejected=VideoSource(**row["rejected"]), metadata=row.get("metadata", {}))
             for row in spec.get("pairs", [])]
    result = align(AlignConfig.from_dict(spec["config"]), samples, real, pairs=pairs, reward_fn=_reward_fn(spec, device),
                   validation_prompts=spec.get("validation_prompts", []),
                   on_progress=lambda fraction, phase, metrics: emit("event", {"fraction": fraction, "phase": phase,
                                                                                "metrics": metrics}))
    return {"final_dir": str(result.final_dir), "steps": result.steps, "losses": result.losses,
            "validation": result.validation, "weight_info": result.weight_info, "memory": result.memory}


class _Throttled:
    """Progress events to the worker, a training step's at most every `seconds` (each carries the whole
    loss curve, so one per step would grow as the square of the steps); every other phase at once."""

    def __init__(self, seconds: float = 2.0):
        self.seconds, self.last = seconds, float("-inf")

    def __call__(self, fraction: float, phase: str, metrics: dict) -> None:
        from .launch import emit

        if phase == "train" and fraction < 1.0 and time.monotonic() - self.last < self.seconds:
            return
        self.last = time.monotonic()
        emit("event", {"fraction": fraction, "phase": phase, "metrics": metrics})


def run_train_critic(spec: dict) -> dict:
    from .critic.config import CriticTrainConfig
    from .critic.data import CriticExample
    from .critic.train import train_critic

    config = CriticTrainConfig(**spec["config"])
    train, validation = ([CriticExample(**row) for row in spec[split]] for split in ("train", "validation"))
    result = train_critic(config, train, validation, spec["out_dir"], on_progress=_Throttled())
    return {"critic_dir": str(result.critic_dir), "steps": result.steps, "stopped_early": result.stopped_early,
            "best_step": result.best_step, "best_metrics": result.best_metrics,
            "loss_curve": [list(point) for point in result.loss_curve], "val_curve": result.val_curve,
            "resumed_from": result.resumed_from}


RUNS = {"align": run_align, "train_critic": run_train_critic}


def main(argv: list[str] | None = None) -> int:
    from .launch import emit

    spec = json.loads(Path((argv or sys.argv[1:])[0]).read_text())
    if spec.get("kind") not in RUNS:
        raise SystemExit(f"unknown training kind {spec.get('kind')!r}; known: {', '.join(RUNS)}")
    emit("result", RUNS[spec["kind"]](spec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
