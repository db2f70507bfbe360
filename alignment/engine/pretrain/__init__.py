"""Pretrained tiny models of the synthetic world: a critic that sees it and a CogVideoX that makes it.

Real LiFT starts from pretrained models (VILA, CogVideoX-2B); the tiny world's models start from these.
Both are stock transformers/diffusers classes saved with `save_pretrained`, so the platform loads them
with the same `from_pretrained(path)` as real weights. Their weights ship in `weights/` (a few MB) with
a model card each; `build_pretrained` reproduces them from scratch, bit for bit on the CPU for the same
seed and thread count (`manage.py build_tiny_models --pretrained --from-scratch`, pretrain/build.py).
This module itself needs no torch: the web process reads where the weights are and their recipe.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
CRITIC, GENERATOR = "tiny-critic", "tiny-cogvideox"
BUILD_COMMAND = "manage.py build_tiny_models --pretrained --from-scratch --out DIR"


def weights_digest(directory: Path) -> str:
    """sha256 over every weights file under `directory` (path and bytes), to tell builds apart."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*.safetensors")):
        digest.update(str(path.relative_to(directory)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _same_files(a: Path, b: Path) -> bool:
    """The same file names with the same bytes (a few MB: cheap next to loading the models)."""
    names = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    if not b.is_dir() or names != sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file()):
        return False
    return all((a / n).read_bytes() == (b / n).read_bytes() for n in names)


def install_shipped(out_dir: str | Path) -> dict[str, Path]:
    """Copy the shipped weights to out_dir/{tiny-critic,tiny-cogvideox} (an install that differs from the
    shipped files in any byte, an older build's or an older recipe's, is replaced); their paths."""
    out_dir = Path(out_dir)
    installed = {}
    for name in (CRITIC, GENERATOR):
        target = out_dir / name
        if not _same_files(WEIGHTS_DIR / name, target):
            tmp = out_dir / f".{name}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(WEIGHTS_DIR / name, tmp)
            shutil.rmtree(target, ignore_errors=True)
            tmp.rename(target)
        installed[name] = target
    return installed
