"""The model's own samples with our sampler (classifier-free guidance as the generator version uses it),
scored by a reward: the validation curve (`evaluate_reward`) and input for reward_weighted / rejection
(`generate_scored_samples`)."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch

from .config import AlignConfig
from .data import ScoredSample
from .model import CogVideoXSpec

RewardFn = Callable[[torch.Tensor, list, Any], torch.Tensor]


def _sample(spec: CogVideoXSpec, transformer, embeds: torch.Tensor, seeds: Sequence[int], config: AlignConfig):
    """Latents for each row of `embeds` with its seed, guided as the generator version is."""
    negative = spec.negative_embeds(config.max_sequence_length) if config.guidance > 1 else None
    return spec.sample(transformer, embeds.to(spec.device), list(seeds), config.frames, config.height, config.width,
                       config.sample_steps, guidance=config.guidance, negative_embeds=negative)


@torch.no_grad()
def evaluate_reward(spec: CogVideoXSpec, transformer, prompts: Sequence[str], seeds: Sequence[int], reward_fn: RewardFn,
                    config: AlignConfig, embeds: torch.Tensor | None = None) -> dict:
    """Generate every (prompt, seed) with our sampler, score with `reward_fn`; mean and per-video rewards."""
    was_training = transformer.training
    transformer.eval()
    if embeds is None:
        embeds = spec.encode_prompts(list(prompts), config.max_sequence_length)
    rewards: list[float] = []
    for seed in seeds:
        latents = _sample(spec, transformer, embeds, [seed * 7919 + i for i in range(len(prompts))], config)
        videos = spec.decode(latents, batch_size=config.validation_batch_size)
        rewards.extend(float(r) for r in reward_fn(videos, list(prompts), {"seed": seed}))
    transformer.train(was_training)
    return {"mean_reward": float(np.mean(rewards)), "rewards": rewards}


@torch.no_grad()
def generate_scored_samples(spec: CogVideoXSpec, transformer, prompts: Sequence[str], seeds: Sequence[int],
                            reward_fn: RewardFn, config: AlignConfig, batch_size: int = 8) -> list[ScoredSample]:
    """The model's own samples (as latents) scored by `reward_fn`: input for reward_weighted/rejection."""
    out: list[ScoredSample] = []
    pairs = list(zip(prompts, seeds))
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        embeds = spec.encode_prompts([p for p, _ in chunk], config.max_sequence_length)
        latents = _sample(spec, transformer, embeds, [s for _, s in chunk], config)
        rewards = reward_fn(spec.decode(latents, batch_size=config.validation_batch_size), [p for p, _ in chunk], None)
        for (prompt, seed), lat, reward in zip(chunk, latents, rewards):
            out.append(ScoredSample(prompt=prompt, latents=lat.cpu(), reward=float(reward), metadata={"seed": seed}))
    return out
