"""Training data: scored generated samples, the real/reference corpus, and the batch order.

A generated sample carries its caption, its video (frames, a file, or latents straight from our
sampler) and a score: a scalar `reward` and/or per-dimension `ratings` ("Good"/"Normal"/"Bad").
Real clips carry a caption and a video. A preference pair (the `dpo` objective) carries a caption and
two videos of it, the preferred and the rejected one. Both become cached latents and text embeddings
(`cache.py`) before training; the batch order is a pure function of (seed, position), so the
data position saved in a checkpoint is one integer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import torch


@dataclass(frozen=True)
class VideoSource:
    """Exactly one of frames (uint8 [T, H, W, 3]), video_path, latents ([F, C, h, w], model space)."""

    frames: np.ndarray | None = None
    video_path: str | None = None
    latents: torch.Tensor | None = None

    def check(self, what: str) -> None:
        given = [name for name in ("frames", "video_path", "latents") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"{what} needs exactly one of frames, video_path or latents; got {given or 'none'}")


@dataclass(frozen=True)
class ScoredSample:
    prompt: str
    frames: np.ndarray | None = None
    video_path: str | None = None
    latents: torch.Tensor | None = None
    reward: float | None = None
    ratings: Mapping[str, str] | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> VideoSource:
        return VideoSource(self.frames, self.video_path, self.latents)

    @property
    def scored(self) -> bool:
        return self.reward is not None or bool(self.ratings)


@dataclass(frozen=True)
class RealClip:
    prompt: str
    frames: np.ndarray | None = None
    video_path: str | None = None
    latents: torch.Tensor | None = None

    @property
    def source(self) -> VideoSource:
        return VideoSource(self.frames, self.video_path, self.latents)


@dataclass(frozen=True)
class PreferencePair:
    """Two videos for one prompt, `preferred` judged better than `rejected` (ties are left out: DPO has no tie)."""

    prompt: str
    preferred: VideoSource
    rejected: VideoSource
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def check(self, what: str) -> None:
        self.preferred.check(f"{what} (preferred)")
        self.rejected.check(f"{what} (rejected)")


def pairs_from_scores(samples: Sequence[ScoredSample], min_gap: float = 0.0) -> list[PreferencePair]:
    """Pairs from the generator's own samples ranked by a critic: per prompt, the highest-reward sample against the
    lowest (Diffusion-DPO / VideoDPO style best-vs-worst), kept when the rewards differ by more than `min_gap`.
    Prompts in first-seen order; equal rewards make no pair (no preference to learn)."""
    by_prompt: dict[str, list[ScoredSample]] = {}
    for sample in samples:
        if sample.reward is None:
            raise ValueError(f"sample for {sample.prompt!r} has no reward: score the samples first")
        by_prompt.setdefault(sample.prompt, []).append(sample)
    pairs = []
    for prompt, group in by_prompt.items():
        best, worst = max(group, key=lambda s: s.reward), min(group, key=lambda s: s.reward)
        if best.reward - worst.reward > min_gap:
            pairs.append(PreferencePair(prompt, best.source, worst.source,
                                        {"preferred_reward": best.reward, "rejected_reward": worst.reward}))
    return pairs


def frames_to_tensor(frames: np.ndarray) -> torch.Tensor:
    """uint8 [T, H, W, 3] → float [T, 3, H, W] in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0


def batch_indices(n: int, batch_size: int, seed: int, position: int) -> tuple[list[int], int]:
    """The next `batch_size` indices of an endless shuffled stream over range(n), and the new position.

    Each epoch is a fresh permutation drawn from (seed, epoch); `position` counts items consumed.
    """
    if n <= 0:
        return [], position
    out: list[int] = []
    while len(out) < batch_size:
        epoch, offset = divmod(position, n)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
        take = min(batch_size - len(out), n - offset)
        out.extend(int(i) for i in order[offset : offset + take])
        position += take
    return out, position


@dataclass
class TrainingSet:
    """Cached tensors of a run: generated samples with their weights, and the real corpus."""

    prompts: list[str]
    latents: torch.Tensor  # [N, F, C, h, w]
    embeds: torch.Tensor  # [N, L, D]
    weights: torch.Tensor  # [N]
    real_prompts: list[str]
    real_latents: torch.Tensor | None  # [M, F, C, h, w]
    real_embeds: torch.Tensor | None
    weight_info: dict = field(default_factory=dict)
    rejected_latents: torch.Tensor | None = None  # dpo: [N, F, C, h, w], pair i is (latents[i], rejected_latents[i])

    def batch(self, indices: list[int], real_indices: list[int]) -> dict[str, torch.Tensor]:
        """One mixed batch: generated items first, then real ones (is_real marks them)."""
        latents = [self.latents[indices]]
        embeds = [self.embeds[indices]]
        weights = [self.weights[indices]]
        is_real = [torch.zeros(len(indices), dtype=torch.bool)]
        if real_indices:
            latents.append(self.real_latents[real_indices])
            embeds.append(self.real_embeds[real_indices])
            weights.append(torch.ones(len(real_indices)))
            is_real.append(torch.ones(len(real_indices), dtype=torch.bool))
        out = {
            "latents": torch.cat(latents),
            "prompt_embeds": torch.cat(embeds),
            "weights": torch.cat(weights),
            "is_real": torch.cat(is_real),
        }
        if self.rejected_latents is not None:
            out["rejected_latents"] = self.rejected_latents[indices]
        return out
