"""Alignment objectives as pure functions of tensors.

Everything here takes tensors (and plain numbers) and returns tensors: no model, no scheduler
object, no I/O, so each piece can be checked by hand.

CogVideoX parametrisation (as in diffusers' `train_cogvideox_lora.py`): the transformer predicts
v; `scheduler.get_velocity(v, x_t, t)` = √ᾱ_t·x_t − √(1−ᾱ_t)·v is the x0 estimate; the per-sample
loss is mean((x̂0 − x0)² / (1 − ᾱ_t)). `v_to_x0` and `diffusion_loss_per_sample` write that out.

Diffusion-DPO (Wallace et al. 2023) on pairs (preferred w, rejected l) sharing noise and timestep:
  margin = −β/2 · ((ℓ_w − ℓ_ref,w) − (ℓ_l − ℓ_ref,l)),  loss = −log σ(margin)
with ℓ the per-sample diffusion loss above of the policy and of the frozen reference. A lower loss
on a video is a higher likelihood, hence the minus sign. At policy = reference the margin is 0 and
the loss log 2.

Sample weights (LiFT §4):
  lift       mean over dimensions of Good 0.9 / Normal 0.2 / Bad 0.05 (or a scalar reward in [0, 1])
  softmax    self-normalised exp(r/τ), τ raised until the effective sample size reaches a floor
  topk       weight 1 for the best `fraction` of samples, 0 for the rest
  rejection  weight 1 for samples Good on every dimension, 0 otherwise
  uniform    1 for every sample (the control)
Weights are normalised to mean 1 over the scored set so the learning rate means the same thing
whichever scheme is used (except `lift`, whose absolute scale is the paper's and is kept).
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import torch

from .config import WEIGHTINGS

LIFT_RATING_WEIGHTS: dict[str, float] = {"Good": 0.9, "Normal": 0.2, "Bad": 0.05}
RATINGS = tuple(LIFT_RATING_WEIGHTS)


# ---------------------------------------------------------------------------------------------
# Per-sample weights


def lift_weight(ratings: Mapping[str, str], mapping: Mapping[str, float] = LIFT_RATING_WEIGHTS) -> float:
    """Mean of the mapped ratings over the rated dimensions: {"semantic": "Good", "motion": "Bad"} → 0.475."""
    if not ratings:
        raise ValueError("a sample needs at least one rated dimension")
    unknown = set(ratings.values()) - set(mapping)
    if unknown:
        raise ValueError(f"unknown ratings {sorted(unknown)}; expected {list(mapping)}")
    return sum(mapping[rating] for rating in ratings.values()) / len(ratings)


def rejection_weight(ratings: Mapping[str, str]) -> float:
    """1 if every dimension is rated Good, else 0."""
    if not ratings:
        raise ValueError("a sample needs at least one rated dimension")
    return 1.0 if all(rating == "Good" for rating in ratings.values()) else 0.0


def effective_sample_size(weights: torch.Tensor) -> torch.Tensor:
    """(Σw)² / Σw²: n for equal weights, 1 when one sample takes all the weight."""
    weights = weights.double()
    return weights.sum() ** 2 / (weights**2).sum().clamp_min(1e-300)


def softmax_weights(
    rewards: torch.Tensor, temperature: float, min_ess_fraction: float = 0.25, standardise: bool = True
) -> tuple[torch.Tensor, float]:
    """Self-normalised exp(r/τ), mean 1; τ is raised (bisection on log τ) until ESS ≥ floor·n.

    With `standardise` the rewards are z-scored over the set first, so τ means the same for a
    reward in [0, 0.1] as for one in [0, 100]. Returns (weights, the temperature used). A low τ
    alone can hand all weight to one sample (ESS ≈ 1), which the floor prevents.
    """
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    rewards = rewards.double()
    if standardise and rewards.numel() > 1:
        rewards = (rewards - rewards.mean()) / rewards.std().clamp_min(1e-12)
    n = rewards.numel()
    floor = min_ess_fraction * n

    def at(tau: float) -> torch.Tensor:
        w = torch.softmax(rewards / tau, dim=0)
        return w * n

    weights = at(temperature)
    if effective_sample_size(weights) >= floor - 1e-9 or n == 1:
        return weights.float(), temperature
    low, high = math.log(temperature), math.log(temperature)
    while effective_sample_size(at(math.exp(high))) < floor:
        high += math.log(2.0)
    for _ in range(60):
        middle = 0.5 * (low + high)
        if effective_sample_size(at(math.exp(middle))) >= floor:
            high = middle
        else:
            low = middle
    return at(math.exp(high)).float(), math.exp(high)


def topk_weights(rewards: torch.Tensor, fraction: float) -> torch.Tensor:
    """1 for the ceil(fraction·n) highest rewards (ties broken by order), 0 otherwise; then mean 1."""
    if not 0 < fraction <= 1:
        raise ValueError("fraction must lie in (0, 1]")
    n = rewards.numel()
    k = max(1, math.ceil(fraction * n))
    mask = torch.zeros(n)
    mask[torch.topk(rewards.double(), k, sorted=False).indices] = 1.0
    return mask * (n / k)


def normalise_mean_one(weights: torch.Tensor) -> torch.Tensor:
    total = weights.sum()
    if total <= 0:
        raise ValueError("every sample has weight 0: nothing to learn from (no sample passes the filter)")
    return weights * (weights.numel() / total)


# ---------------------------------------------------------------------------------------------
# Diffusion loss (CogVideoX: v-prediction, x0 target, 1/(1−ᾱ_t) weighting)


def _expand(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    while values.dim() < like.dim():
        values = values.unsqueeze(-1)
    return values


def add_noise(x0: torch.Tensor, noise: torch.Tensor, alphas_cumprod_t: torch.Tensor) -> torch.Tensor:
    """x_t = √ᾱ·x0 + √(1−ᾱ)·ε (what `scheduler.add_noise` computes)."""
    a = _expand(alphas_cumprod_t.to(x0.dtype), x0)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def v_to_x0(v: torch.Tensor, x_t: torch.Tensor, alphas_cumprod_t: torch.Tensor) -> torch.Tensor:
    """x̂0 = √ᾱ·x_t − √(1−ᾱ)·v (`scheduler.get_velocity(v, x_t, t)` in the CogVideoX training code)."""
    a = _expand(alphas_cumprod_t.to(v.dtype), v)
    return a.sqrt() * x_t - (1 - a).sqrt() * v


def diffusion_loss_per_sample(x0_pred: torch.Tensor, x0: torch.Tensor, alphas_cumprod_t: torch.Tensor) -> torch.Tensor:
    """[B]: mean over all other axes of (x̂0 − x0)² / (1 − ᾱ_t)."""
    weights = _expand((1.0 / (1.0 - alphas_cumprod_t)).to(x0_pred.dtype), x0_pred)
    return (weights * (x0_pred.float() - x0.float()) ** 2).reshape(x0.shape[0], -1).mean(dim=1)


def weighted_alignment_loss(
    per_sample: torch.Tensor,
    weights: torch.Tensor,
    is_real: torch.Tensor,
    real_weight: float,
) -> torch.Tensor:
    """mean_syn(w·ℓ) + λ·mean_real(ℓ): LiFT's objective over one mixed batch.

    A batch without generated (or without real) samples contributes 0 for that term.
    """
    is_real = is_real.bool()
    generated = ~is_real
    zero = per_sample.sum() * 0.0
    generated_term = (weights[generated] * per_sample[generated]).mean() if generated.any() else zero
    real_term = per_sample[is_real].mean() if is_real.any() and real_weight > 0 else zero
    return generated_term + real_weight * real_term


def reward_weighted(per_sample: torch.Tensor, weights: torch.Tensor, is_real: torch.Tensor, real_weight: float = 1.0) -> torch.Tensor:
    """LiFT reward-weighted likelihood: `weights` are the mapped rewards of the generated samples."""
    return weighted_alignment_loss(per_sample, weights, is_real, real_weight)


def rejection(per_sample: torch.Tensor, all_good: torch.Tensor, is_real: torch.Tensor, real_weight: float = 1.0) -> torch.Tensor:
    """Rejection sampling: plain loss on samples Good on every dimension, nothing on the rest."""
    return weighted_alignment_loss(per_sample, all_good.to(per_sample.dtype), is_real, real_weight)


def dpo_margin(
    policy_preferred: torch.Tensor,
    policy_rejected: torch.Tensor,
    reference_preferred: torch.Tensor,
    reference_rejected: torch.Tensor,
    beta: float,
) -> torch.Tensor:
    """[B]: the implicit reward margin −β/2·((ℓ_w − ℓ_ref,w) − (ℓ_l − ℓ_ref,l)); > 0 when the policy favours the winner
    more than the reference does."""
    return -0.5 * beta * ((policy_preferred - reference_preferred) - (policy_rejected - reference_rejected))


def dpo_loss(margin: torch.Tensor) -> torch.Tensor:
    """Diffusion-DPO: mean over pairs of −log σ(margin), `margin` from `dpo_margin` (logsigmoid: no overflow)."""
    return -torch.nn.functional.logsigmoid(margin).mean()


# ---------------------------------------------------------------------------------------------
# InstructVideo: segmental, temporally attenuated reward


def segment_frame_indices(num_frames: int, segments: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """One random frame from each of `segments` equal splits of [0, num_frames): [segments] long."""
    if not 1 <= segments <= num_frames:
        raise ValueError(f"segments must lie in [1, {num_frames}], got {segments}")
    bounds = torch.linspace(0, num_frames, segments + 1)
    starts, ends = bounds[:-1].floor().long(), bounds[1:].floor().long()
    spans = (ends - starts).clamp_min(1)
    offsets = (torch.rand(segments, generator=generator) * spans).floor().long()
    return starts + torch.minimum(offsets, spans - 1)


def temporal_attenuation_weights(indices: torch.Tensor, num_frames: int, attenuation: float = 1.0) -> torch.Tensor:
    """exp(−λ·|i − F/2|) for each chosen frame index i, normalised to sum 1."""
    raw = torch.exp(-attenuation * (indices.double() - num_frames / 2).abs())
    return (raw / raw.sum()).float()


def edit_reward_loss(frame_rewards: torch.Tensor, frame_weights: torch.Tensor) -> torch.Tensor:
    """1 − mean over the batch of Σ_k w_k·r_k; frame_rewards [B, K], frame_weights [K] or [B, K]."""
    if frame_weights.dim() == 1:
        frame_weights = frame_weights.expand_as(frame_rewards)
    return 1.0 - (frame_rewards * frame_weights.to(frame_rewards.dtype)).sum(dim=1).mean()


def sample_weights(
    weighting: str,
    rewards: Sequence[float] | None,
    ratings: Sequence[Mapping[str, str] | None] | None,
    *,
    temperature: float = 0.5,
    min_ess_fraction: float = 0.25,
    top_fraction: float = 0.25,
    good_quantile: float = 0.75,
) -> tuple[torch.Tensor, dict]:
    """Weights of the generated samples under `weighting`, plus facts about them (ESS, τ used).

    Samples with per-dimension ratings use them for `lift` and `rejection`; samples with only a
    scalar reward use it directly for `lift` (clipped to [0, 1]) and count as Good for `rejection`
    when their reward is at or above the `good_quantile` of the scored set.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    n = len(rewards) if rewards is not None else len(ratings or [])
    reward_tensor = None
    if rewards is not None and all(r is not None for r in rewards):
        reward_tensor = torch.tensor([float(r) for r in rewards], dtype=torch.float64)
    info: dict = {}
    if weighting == "uniform":
        weights = torch.ones(n)
    elif weighting in ("lift", "rejection"):
        values = []
        threshold = torch.quantile(reward_tensor, good_quantile).item() if reward_tensor is not None else None
        for i in range(n):
            rating = ratings[i] if ratings is not None else None
            if rating:
                values.append(lift_weight(rating) if weighting == "lift" else rejection_weight(rating))
            elif reward_tensor is None:
                raise ValueError(f"sample {i} has neither ratings nor a reward")
            elif weighting == "lift":
                values.append(min(max(float(reward_tensor[i]), 0.0), 1.0))
            else:
                values.append(1.0 if float(reward_tensor[i]) >= threshold - 1e-12 else 0.0)
        weights = torch.tensor(values, dtype=torch.float32)
        if weighting == "rejection" and weights.sum() <= 0:
            raise ValueError("no generated sample is rated Good on every dimension: rejection has nothing to learn from")
    else:
        if reward_tensor is None:
            reward_tensor = torch.tensor(
                [lift_weight(r) if r else float("nan") for r in (ratings or [])], dtype=torch.float64
            )
            if torch.isnan(reward_tensor).any():
                raise ValueError("softmax/topk weighting needs a reward or ratings for every sample")
        if weighting == "softmax":
            weights, used = softmax_weights(reward_tensor, temperature, min_ess_fraction)
            info["temperature_used"] = used
        else:
            weights = topk_weights(reward_tensor, top_fraction)
    info["effective_sample_size"] = float(effective_sample_size(weights)) if weights.sum() > 0 else 0.0
    return weights.float(), info
