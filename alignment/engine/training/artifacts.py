"""A training run's outputs as job artifacts: plain dicts `{name, path, kind}` that the job row lists."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from .checkpoints import list_checkpoints


def artifact(name: str, path: str | Path, kind: str) -> dict:
    return {"name": name, "path": str(path), "kind": kind}


def checkpoint_artifacts(out_dir: str | Path) -> list[dict]:
    return [artifact(p.name, p, "checkpoint") for p in list_checkpoints(out_dir)]


def existing_artifacts(out_dir: str | Path, named: Iterable[tuple[str, str]]) -> list[dict]:
    """(name, kind) pairs for files or folders under out_dir, those that exist, in the order given."""
    out_dir = Path(out_dir)
    return [artifact(name, out_dir / name, kind) for name, kind in named if (out_dir / name).exists()]
