"""Every refusal of an alignment run, before any weight is read: the config, the model's shape, the
samples, pairs and real clips, and what validation needs. Reads config files, never weights."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch

from . import objectives as obj
from .compat import check_lora_matches, read_model_shape
from .config import AlignConfig, AlignConfigError
from .data import PreferencePair, RealClip, ScoredSample


def check_inputs(
    config: AlignConfig,
    samples: Sequence[ScoredSample],
    real: Sequence[RealClip],
    reward_fn: Callable[..., Any] | None,
    validation_prompts: Sequence[str],
    pairs: Sequence[PreferencePair] = (),
) -> None:
    """Raise AlignConfigError for anything that would fail later; reads config files only."""
    config.validate()
    try:
        shape = read_model_shape(config.base)
    except (OSError, KeyError, ValueError) as error:
        raise AlignConfigError(f"cannot read a CogVideoX transformer/VAE config from {config.base!r}: {error}") from error
    frame_step = 2 * shape.temporal_compression
    if (config.frames - 1) % frame_step:
        below = config.frames - (config.frames - 1) % frame_step
        raise AlignConfigError(
            f"frames must be {frame_step}k+1 for this CogVideoX model, got {config.frames}; try {below} or {below + frame_step}"
        )
    multiple = shape.spatial_compression * shape.patch_size
    if config.height % multiple or config.width % multiple:
        raise AlignConfigError(f"height and width must be multiples of {multiple}, got {config.height}x{config.width}")
    if config.max_sequence_length != shape.max_text_seq_length:
        raise AlignConfigError(
            f"max_sequence_length must be {shape.max_text_seq_length} for this model, got {config.max_sequence_length}"
        )
    if config.lora_init:
        check_lora_matches(config.lora_init, config.base)
    if config.objective == "dpo":
        if not pairs:
            raise AlignConfigError("dpo needs preference pairs (preferred, rejected) to align on")
        if samples:
            raise AlignConfigError("dpo learns from preference pairs, not scored samples: pass pairs only")
        for i, pair in enumerate(pairs):
            try:
                pair.check(f"pair {i}")
            except ValueError as error:
                raise AlignConfigError(str(error)) from error
    elif pairs:
        raise AlignConfigError(f"preference pairs are only used by objective 'dpo', not {config.objective!r}")
    elif not samples:
        raise AlignConfigError("no generated samples to align on")
    for i, sample in enumerate(samples):
        try:
            sample.source.check(f"sample {i}")
        except ValueError as error:
            raise AlignConfigError(str(error)) from error
    if config.objective in ("reward_weighted", "rejection"):
        unscored = [i for i, s in enumerate(samples) if not s.scored]
        if unscored:
            raise AlignConfigError(f"{len(unscored)} of {len(samples)} samples have no reward or ratings (first: {unscored[0]}); score them first")
        if config.objective == "reward_weighted" and config.weighting in ("softmax", "topk") and any(s.reward is None and not s.ratings for s in samples):
            raise AlignConfigError("softmax/topk weighting needs a reward for every sample")
        if config.real_weight > 0 and not real:
            raise AlignConfigError("the real corpus is empty but real_weight (λ) > 0: add real clips or set real_weight=0")
        if config.real_weight > 0 and config.real_batch_size < 1:
            raise AlignConfigError("real_batch_size must be at least 1 when real_weight (λ) > 0")
        try:
            weights, _ = sample_weights_for(config, samples)
        except ValueError as error:
            raise AlignConfigError(str(error)) from error
        if float(weights.sum()) <= 0:
            raise AlignConfigError("every generated sample has weight 0: nothing to learn from")
    if config.objective == "edit_reward" and reward_fn is None:
        raise AlignConfigError("edit_reward needs a differentiable reward_fn")
    for i, clip in enumerate(real):
        try:
            clip.source.check(f"real clip {i}")
        except ValueError as error:
            raise AlignConfigError(str(error)) from error
    if validation_prompts and reward_fn is None:
        raise AlignConfigError("validation prompts were given without a reward_fn to score them")


def sample_weights_for(config: AlignConfig, samples: Sequence[ScoredSample]) -> tuple[torch.Tensor, dict]:
    """Each sample's training weight from its reward or ratings, as the objective and weighting say, and a
    summary (effective sample size and the like). With `per_prompt`, each prompt's samples are weighed among
    themselves and brought to mean 1."""
    if not config.per_prompt:
        return _weights_of(config, samples)
    by_prompt: dict[str, list[int]] = {}
    for i, sample in enumerate(samples):
        by_prompt.setdefault(sample.prompt, []).append(i)
    weights = torch.zeros(len(samples))
    for indices in by_prompt.values():
        weights[indices] = obj.normalise_mean_one(_weights_of(config, [samples[i] for i in indices])[0])
    return weights, {"prompts": len(by_prompt),
                     "effective_sample_size": float(obj.effective_sample_size(weights))}


def _weights_of(config: AlignConfig, samples: Sequence[ScoredSample]) -> tuple[torch.Tensor, dict]:
    weighting = "rejection" if config.objective == "rejection" else config.weighting
    rewards = [s.reward for s in samples]
    return obj.sample_weights(
        weighting,
        rewards if all(r is not None for r in rewards) else None,
        [dict(s.ratings) if s.ratings else None for s in samples],
        temperature=config.temperature,
        min_ess_fraction=config.min_ess_fraction,
        top_fraction=config.top_fraction,
        good_quantile=config.good_quantile,
    )
