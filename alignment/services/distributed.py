"""A training job (align, train_critic) over several processes: the job's inputs become a run spec, the
engine's launcher runs it as a torchrun child process group, and rank 0's progress comes back into the job row.

The worker process keeps the job row, the heartbeat and the cancel check; the ranks only train. Rank 0
alone writes checkpoints, curves and artifacts (the trainer guards each write), so a re-run resumes
from them on any process count.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from lift.api_errors import ApplicationError

from ..models import Job


def train_processes() -> int:
    """LIFT_TRAIN_PROCESSES: a number, or "auto" for every visible GPU (1 without one)."""
    value = str(settings.LIFT["TRAIN_PROCESSES"]).strip().lower()
    if value == "auto":
        from ..engine.launch import default_processes

        return default_processes()
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise ApplicationError(f"LIFT_TRAIN_PROCESSES must be 'auto' or a whole number ≥ 1, got {value!r}.",
                               code="bad_setting")
    return count


@dataclass
class ChildResult:
    """What the service reads of a finished run (the fields of engine.align.AlignResult it uses)."""

    final_dir: Path
    steps: int
    losses: list
    validation: list
    weight_info: dict
    memory: dict


def _cancel_requested(job_id: int) -> bool:
    return Job.objects.filter(pk=job_id, cancel_requested=True).exists()


def _run_in_child(*, job: Job, spec: dict, path: Path, on_event, processes: int) -> dict:
    """Run `spec` on `processes` ranks and return rank 0's result. Cancel reaches every rank; a failed rank
    fails the job with the end of the child's output."""
    import torch

    from ..engine.launch import ChildCancelled, ChildFailed, run_child, training_command, write_spec
    from .jobs import JobCancelled

    write_spec(path, spec)
    env = {} if torch.cuda.is_available() else {"ACCELERATE_USE_CPU": "1"}  # gloo ranks on a machine without GPUs
    try:
        return run_child(training_command(path, processes), env=env, on_event=on_event,
                         should_cancel=lambda: _cancel_requested(job.pk), poll_s=2.0)
    except ChildCancelled as exc:
        raise JobCancelled() from exc
    except ChildFailed as exc:
        text = str(exc)
        if "OutOfMemory" in text:
            from ..engine.align import MEMORY_ADVICE

            raise ApplicationError(f"Out of GPU memory: {MEMORY_ADVICE}.", code="out_of_memory") from exc
        raise ApplicationError(f"Training failed on {processes} processes: {text[-1500:]}") from exc


def align_in_child(*, job: Job, config, samples, real, pairs=(), validation_prompts, reward: dict, on_progress,
                   processes: int):
    """Run engine `align` on `processes` ranks; returns a ChildResult."""
    spec = {
        "kind": "align", "config": config.to_dict(), "reward": reward, "validation_prompts": list(validation_prompts),
        "samples": [{"prompt": s.prompt, "video_path": s.video_path, "reward": s.reward,
                     "ratings": dict(s.ratings) if s.ratings else None, "metadata": dict(s.metadata)} for s in samples],
        "real": [{"prompt": c.prompt, "video_path": c.video_path} for c in real],
        "pairs": [{"prompt": p.prompt, "preferred": vars(p.preferred), "rejected": vars(p.rejected),
                   "metadata": dict(p.metadata)} for p in pairs],
    }
    result = _run_in_child(job=job, spec=spec, path=Path(config.output_dir) / "run_spec.json", processes=processes,
                           on_event=lambda e: on_progress(e["fraction"], e["phase"], e["metrics"]))
    return ChildResult(Path(result["final_dir"]), result["steps"], result["losses"], result["validation"],
                       result["weight_info"], result.get("memory", {}))


def train_critic_in_child(*, job: Job, config, train_examples, val_examples, out_dir: Path, on_progress,
                          processes: int):
    """Run engine `train_critic` on `processes` ranks; returns its TrainResult. The examples' videos are
    files (a snapshot's), so the spec names them rather than carrying frames."""
    from ..engine.critic.train import TrainResult

    def rows(examples):
        return [{"video": str(e.video), "caption": e.caption, "dimension": e.dimension, "rating": e.rating,
                 "reason": e.reason} for e in examples]

    spec = {"kind": "train_critic", "config": config.to_dict(), "out_dir": str(out_dir),
            "train": rows(train_examples), "validation": rows(val_examples)}
    result = _run_in_child(job=job, spec=spec, path=Path(out_dir) / "run_spec.json", processes=processes,
                           on_event=lambda e: on_progress(e["fraction"], e["phase"], e["metrics"]))
    return TrainResult(Path(result["critic_dir"]), result["steps"], result["stopped_early"], result["best_step"],
                       result["best_metrics"], [tuple(point) for point in result["loss_curve"]], result["val_curve"],
                       result["resumed_from"])
