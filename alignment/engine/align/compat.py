"""What a base model and a LoRA are, read from config files and safetensors headers only.

No torch here: the web process uses these checks to refuse an alignment request before it is queued,
and the trainer repeats them before it reads any weight.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .config import AlignConfigError

LORA_WEIGHTS_NAME = "pytorch_lora_weights.safetensors"
META_NAME = "align_meta.json"


@dataclass(frozen=True)
class ModelShape:
    latent_channels: int
    temporal_compression: int
    spatial_compression: int
    patch_size: int
    max_text_seq_length: int
    inner_dim: int
    num_layers: int


def read_model_shape(base: str) -> ModelShape:
    """The shape facts needed to refuse bad requests, read from config files only (no weights)."""
    from ..generation import _read_component_config

    transformer = _read_component_config(base, "transformer")
    vae = _read_component_config(base, "vae")
    return ModelShape(
        latent_channels=int(vae.get("latent_channels", 16)),
        temporal_compression=int(vae.get("temporal_compression_ratio", 4)),
        spatial_compression=2 ** (len(vae.get("block_out_channels", (0, 0, 0, 0))) - 1),
        patch_size=int(transformer.get("patch_size", 2)),
        max_text_seq_length=int(transformer.get("max_text_seq_length", 226)),
        inner_dim=int(transformer["num_attention_heads"]) * int(transformer["attention_head_dim"]),
        num_layers=int(transformer.get("num_layers", 1)),
    )


def model_identity(base: str) -> str:
    """A string that changes when the model's configs change: part of every cache key."""
    local = Path(base)
    if local.is_dir():
        parts = []
        for name in ("model_index.json", "vae/config.json", "text_encoder/config.json", "transformer/config.json"):
            path = local / name
            parts.append(path.read_text() if path.is_file() else "")
        # Weights files too (size + mtime is cheap and catches a re-saved model).
        for weights in sorted(local.glob("*/*.safetensors")):
            stat = weights.stat()
            parts.append(f"{weights.relative_to(local)}:{stat.st_size}")
        return json.dumps([str(local.resolve()), parts])
    return base


def lora_file(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path / LORA_WEIGHTS_NAME if path.is_dir() else path


def check_lora_matches(lora: str, base: str) -> None:
    """Refuse an adapter made for another base: its recorded base, layer count and widths must fit."""
    from safetensors import safe_open

    file = lora_file(lora)
    if not file.is_file():
        raise AlignConfigError(f"lora_init {lora!r} holds no {LORA_WEIGHTS_NAME}")
    meta_path = file.parent / META_NAME
    if meta_path.is_file():
        recorded = json.loads(meta_path.read_text()).get("base_identity")
        if recorded and recorded != model_identity(base):
            raise AlignConfigError(f"lora_init {lora!r} was trained for another base than {base!r}")
    shape = read_model_shape(base)
    with safe_open(str(file), framework="numpy") as handle:
        for key in handle.keys():
            if not key.startswith("transformer."):
                continue
            dims = handle.get_slice(key).get_shape()
            block = key.split("transformer_blocks.")
            if len(block) > 1 and int(block[1].split(".")[0]) >= shape.num_layers:
                raise AlignConfigError(f"lora_init {lora!r} is for another base: it has layers {base!r} lacks ({key})")
            if "lora_A" in key and any(m in key for m in ("to_q", "to_k", "to_v")) and dims[1] != shape.inner_dim:
                raise AlignConfigError(
                    f"lora_init {lora!r} is for another base: {key} expects width {dims[1]}, {base!r} has {shape.inner_dim}"
                )
