"""Latents and text embeddings computed once and kept on disk, keyed by content hash.

A key hashes the model's identity (configs and weight files, `model.model_identity`), the input
content (frame bytes and shape, or the file's sha256) and the size and frame rate it is encoded at,
so changing any of them misses the cache instead of reusing a stale tensor. Video files are read at
the model's frame rate and scaled to cover the run's size, centre-cropped (never stretched).
Entries are written to a temporary name and renamed, so a crash never leaves a half-written one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Sequence

import torch

from ..scale import encode_batch_size
from .data import VideoSource, frames_to_tensor


def _digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else part.encode())
        h.update(b"\0")
    return h.hexdigest()


def _atomic_save(tensor: torch.Tensor, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(tensor.detach().cpu().contiguous(), tmp)
    os.replace(tmp, path)


class FeatureCache:
    def __init__(self, root: str | os.PathLike, model_id: str):
        self.root = Path(root)
        self.model_id = model_id
        self.hits = 0
        self.misses = 0

    # ---- keys -------------------------------------------------------------------------------

    def video_key(self, source: VideoSource, frames: int, height: int, width: int, fps: float | None = None) -> str:
        size = f"{frames}x{height}x{width}-crop" + (f"@{fps:g}fps" if fps else "")
        if source.frames is not None:
            array = source.frames
            return _digest("video", self.model_id, size, str(array.shape), str(array.dtype), array.tobytes())
        from ..video_io import sha256_file

        return _digest("file", self.model_id, size, sha256_file(source.video_path))

    def text_key(self, prompt: str, max_sequence_length: int) -> str:
        return _digest("text", self.model_id, str(max_sequence_length), prompt)

    # ---- lookups ----------------------------------------------------------------------------

    def _load_or_compute(self, kind: str, keys: Sequence[str], compute, batch_size: int) -> list[torch.Tensor]:
        out: list[torch.Tensor | None] = [None] * len(keys)
        missing: list[int] = []
        for i, key in enumerate(keys):
            path = self.root / kind / f"{key}.pt"
            if path.is_file():
                out[i] = torch.load(path, weights_only=True)
                self.hits += 1
            else:
                missing.append(i)
        for start in range(0, len(missing), batch_size):
            chunk = missing[start : start + batch_size]
            values = compute(chunk)
            for i, value in zip(chunk, values):
                _atomic_save(value, self.root / kind / f"{keys[i]}.pt")
                out[i] = value.detach().cpu()
                self.misses += 1
        return out  # type: ignore[return-value]

    def text_embeddings(self, spec, prompts: Sequence[str], max_sequence_length: int, batch_size: int = 8) -> torch.Tensor:
        keys = [self.text_key(p, max_sequence_length) for p in prompts]
        # An offloaded T5 comes to the device once for all missing prompts, and leaves after.
        holding = getattr(spec, "text_encoder_on_device", None)
        with holding() if holding else contextlib.nullcontext():
            values = self._load_or_compute(
                "embeds", keys, lambda idx: spec.encode_prompts([prompts[i] for i in idx], max_sequence_length), batch_size
            )
        return torch.stack(values) if values else torch.empty(0)

    def video_latents(
        self, spec, sources: Sequence[VideoSource], frames: int, height: int, width: int,
        batch_size: int | None = None, fps: float | None = None,
    ) -> torch.Tensor:
        """Latents of each source; files are read at `fps` (None: evenly over the clip) and cropped to size.
        batch_size: clips per encode call; None = `scale.encode_batch_size` (one for long clips)."""
        batch_size = batch_size or encode_batch_size(frames, height, width)
        keys = []
        for source in sources:
            if source.latents is not None:
                keys.append(None)
            else:
                keys.append(self.video_key(source, frames, height, width, fps))
        to_encode = [i for i, k in enumerate(keys) if k is not None]

        def compute(idx: list[int]) -> list[torch.Tensor]:
            videos = torch.stack([load_video(sources[to_encode[j]], frames, height, width, fps) for j in idx])
            return list(spec.encode_videos(videos))

        encoded = self._load_or_compute("latents", [keys[i] for i in to_encode], compute, batch_size)
        out: list[torch.Tensor] = [None] * len(sources)  # type: ignore[list-item]
        for i, value in zip(to_encode, encoded):
            out[i] = value
        for i, source in enumerate(sources):
            if source.latents is not None:
                out[i] = source.latents.detach().float().cpu()
        return torch.stack(out) if out else torch.empty(0)


def load_video(source: VideoSource, frames: int, height: int, width: int, fps: float | None = None) -> torch.Tensor:
    """[T, 3, H, W] float in [0, 1] at exactly the run's size; arrays must already have it, files are
    sampled at `fps` (the model's frame rate) and scaled to cover the size, centre-cropped."""
    if source.frames is not None:
        array = source.frames
        if array.shape != (frames, height, width, 3):
            raise ValueError(f"video frames have shape {array.shape}, the run needs {(frames, height, width, 3)}")
    else:
        from ..video_io import read_frames

        array = read_frames(source.video_path, num_frames=frames, size=(height, width), fps=fps, crop=True)
        if array.shape[0] != frames:
            raise ValueError(f"{source.video_path} has {array.shape[0]} frames, the run needs {frames}")
    return frames_to_tensor(array)
