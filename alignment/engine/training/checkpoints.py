"""Whole-state checkpoints: `checkpoint-{step}/` holds the trainer's weights (written by the trainer),
the optimizer and scheduler, every random state (torch, CUDA, numpy, Python) and the trainer's own
state (step, data position, curves) in `trainer_state.json`. It is written under a temporary name and
renamed into place, so a directory named `checkpoint-*` is always complete, and older ones are rotated
away. Loading restores the same, so a resumed run matches an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

STATE_NAME = "trainer_state.json"


def list_checkpoints(out_dir: str | os.PathLike) -> list[Path]:
    """Complete checkpoint-{step} directories, oldest first (temporary ones are ignored)."""
    found = []
    for path in Path(out_dir).glob("checkpoint-*"):
        suffix = path.name.split("-", 1)[1]
        if suffix.isdigit() and (path / STATE_NAME).is_file():
            found.append((int(suffix), path))
    return [path for _, path in sorted(found)]


def latest_checkpoint(out_dir: str | os.PathLike) -> Path | None:
    checkpoints = list_checkpoints(out_dir)
    return checkpoints[-1] if checkpoints else None


def checkpoint_step(path: Path) -> int:
    return int(path.name.split("-", 1)[1])


@contextmanager
def atomic_directory(final: Path) -> Iterator[Path]:
    """Yield a fresh temporary directory beside `final`; when the block ends without an error, it
    replaces `final` in one rename, so readers see the old directory or the whole new one."""
    final = Path(final)
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    yield tmp
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)


def rng_state() -> dict:
    import torch

    return {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": np.random.get_state(), "python": random.getstate()}


def set_rng_state(state: dict) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if "numpy" in state:
        np.random.set_state(state["numpy"])
    if "python" in state:
        random.setstate(state["python"])


def save_checkpoint(out_dir: Path, step: int, *, write_weights: Callable[[Path], None], optimizer, state: dict,
                    keep: int, scheduler=None) -> Path:
    """Write checkpoint-{step}/ under a temporary name, rename it into place, keep the newest `keep`."""
    import torch

    out_dir = Path(out_dir)
    final = out_dir / f"checkpoint-{step}"
    with atomic_directory(final) as tmp:
        write_weights(tmp)
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        if scheduler is not None:
            torch.save(scheduler.state_dict(), tmp / "lr_scheduler.pt")
        torch.save(rng_state(), tmp / "rng.pt")
        (tmp / STATE_NAME).write_text(json.dumps(state, indent=1))
    for old in list_checkpoints(out_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(path: Path, *, read_weights: Callable[[Path], None], optimizer, scheduler=None) -> dict:
    """Restore weights, optimizer, scheduler and random state from `path`; return the trainer's state."""
    import torch

    path = Path(path)
    if not (path / STATE_NAME).is_file():
        raise ValueError(f"{path} is not a checkpoint (no {STATE_NAME})")
    read_weights(path)
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=False))
    if scheduler is not None:
        scheduler.load_state_dict(torch.load(path / "lr_scheduler.pt", weights_only=False))
    set_rng_state(torch.load(path / "rng.pt", weights_only=False))
    return json.loads((path / STATE_NAME).read_text())


def trainable_state(model) -> dict:
    """The parameters that train (all of them in full fine-tuning, the adapter's with LoRA), on the CPU."""
    return {n: p.detach().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}


def load_trainable_state(model, state: dict) -> None:
    import torch

    params = dict(model.named_parameters())
    missing = set(state) ^ {n for n, p in params.items() if p.requires_grad}
    if missing:
        raise RuntimeError(f"checkpoint does not match the model's trainable parameters: {sorted(missing)[:5]}")
    with torch.no_grad():
        for name, value in state.items():
            params[name].copy_(value)
