"""The training child: `python -m alignment.engine.run_training SPEC.json`, one process or N under torchrun.

SPEC.json (written by the worker, `launch.write_spec`):
    {"kind": "align", "config": {AlignConfig fields}, "samples": [{"prompt", "video_path", "reward",
     "ratings", "metadata"}], "real": [{"prompt", "video_path"}], "validation_prompts": [...],
     "pairs": [{"prompt", "preferred": {"video_path"}, "rejected": {"video_path"}, "metadata"}] (objective dpo),
     "reward": a reward spec (engine/rewards.py)}

Every rank runs the same trainer; accelerate joins them (NCCL on GPUs, gloo on the CPU) and gives each its
share of the global batch. Rank 0 alone writes checkpoints, curves and artifacts (the trainer guards each
write with `is_main_process`) and alone prints the progress lines the worker reads (`launch.emit`).
"""

from __future__ import annotations

import json
import sys
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


def main(argv: list[str] | None = None) -> int:
    from .launch import emit

    spec = json.loads(Path((argv or sys.argv[1:])[0]).read_text())
    if spec.get("kind") != "align":
        raise SystemExit(f"unknown training kind {spec.get('kind')!r}")
    emit("result", run_align(spec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
