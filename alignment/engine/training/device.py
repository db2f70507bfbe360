"""Where a run computes, and in which precision."""

from __future__ import annotations


def resolve_device(name: str | None = "auto") -> str:
    """"auto" (or None): CUDA when there is one, else the CPU. Asking for CUDA without one is an error,
    not a silent run on the CPU."""
    import torch

    if not name or name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} asked for but CUDA is not available")
    return name


def resolve_dtype(name: str, device: str):
    """Half precision only on CUDA: CPU kernels for bf16/fp16 convolutions are slow or missing."""
    import torch

    if not device.startswith("cuda"):
        return torch.float32
    return {"auto": torch.bfloat16, "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]
