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


def resolve_dtype(name: str | None, device, *, half_on_cpu: bool = False) -> "torch.dtype":  # noqa: F821
    """The storage dtype of weights: "auto" (or None) is bfloat16 on CUDA, the dtype models are published in,
    and float32 elsewhere. On the CPU an explicit half precision is kept only with `half_on_cpu` (a language
    model's linear layers run in bf16 there; the CPU kernels for bf16/fp16 convolutions are slow or missing)."""
    import torch

    if name in (None, "auto"):
        return torch.bfloat16 if str(device).startswith("cuda") else torch.float32
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]
    return dtype if str(device).startswith("cuda") or half_on_cpu else torch.float32
