"""Memory settings that depend on the model's size, chosen from its config files (no weights read).

A real model (CogVideoX-2B, a 2–7B critic) needs bf16 weights, gradient checkpointing, VAE slicing
and tiling, the T5 encoder off the GPU once the embeddings are cached, one clip per VAE encode, and
the critic off the GPU while the generator trains. A tiny test model needs none of it, and each of
them costs time there, so `MemoryProfile.for_size` turns them on from `LARGE_MODEL_PARAMETERS` up.
Every setting that reads a profile also takes an explicit value that wins (None = from the profile).
"""

from __future__ import annotations

from dataclasses import dataclass

# From this many parameters in the trained network a model counts as real-sized. CogVideoX-2B's
# transformer has 1.69 B, Qwen2-VL-2B 2.2 B; the platform's tiny models have well under 1 M.
LARGE_MODEL_PARAMETERS = 100_000_000
# Voxels (frames × height × width) one VAE encode call takes: 49×480×720 is 17 M, so one clip at a
# time at full size (the encoder's activations at that size take tens of GB); tiny clips go 8 at once.
ENCODE_VOXELS = 1 << 22
MAX_ENCODE_BATCH = 8


@dataclass(frozen=True)
class MemoryProfile:
    """What a model of this size turns on; `describe()` lists it for logs and tests."""

    large: bool
    gradient_checkpointing: bool
    vae_slicing: bool
    vae_tiling: bool
    offload_text_encoder: bool  # T5 back to the CPU once the embeddings are cached
    offload_critic: bool  # the critic waits on the CPU while the generator trains

    @classmethod
    def for_size(cls, parameters: int) -> "MemoryProfile":
        large = parameters >= LARGE_MODEL_PARAMETERS
        return cls(large, large, large, large, large, large)

    def describe(self) -> dict:
        return dict(vars(self))


def encode_batch_size(frames: int, height: int, width: int) -> int:
    """Clips per VAE encode call: one for long or large clips."""
    return max(1, min(MAX_ENCODE_BATCH, ENCODE_VOXELS // max(1, frames * height * width)))


def count_parameters(model_class, config: dict) -> int:
    """Parameters of `model_class` built from `config` on the meta device: no memory, no weights.

    Works for diffusers models (`from_config`) and transformers models (a PretrainedConfig).
    """
    from accelerate import init_empty_weights

    with init_empty_weights():
        if hasattr(model_class, "from_config") and isinstance(config, dict):
            model = model_class.from_config(config)
        else:
            model = model_class._from_config(config) if hasattr(model_class, "_from_config") else model_class(config)
    return sum(p.numel() for p in model.parameters())


def module_parameters(module) -> int:
    return sum(p.numel() for p in module.parameters())
