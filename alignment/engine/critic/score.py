"""Scoring: per dimension the rating-word probabilities at the answer position (one forward pass,
no sampling), the expected reward, the argmax rating, an entropy, and on request a greedy reason."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .data import ScoreItem, sample_frames_timed
from .questions import DIMENSIONS, RATING_REWARDS, RATINGS, CriticDataError, parse_answer
from .spec import Query, VisionGeometry, collate, load_critic, rating_token_ids

GENERATED_FPS = 8.0  # frames handed over as arrays come from the generator, stored at 8 fps


@dataclass
class DimensionScore:
    probs: dict[str, float]  # Good / Normal / Bad, summing to 1
    expected_reward: float
    rating: str
    entropy: float  # nats, 0 … ln 3
    reason: str | None = None


@dataclass
class VideoScore:
    dimensions: dict[str, DimensionScore]
    reward: float  # mean expected reward over dimensions

    def to_dict(self) -> dict:
        return {"reward": self.reward, "dimensions": {d: vars(s) for d, s in self.dimensions.items()}}


def expected_reward(probs: dict[str, float], rewards: dict[str, float] = RATING_REWARDS) -> float:
    return float(sum(probs[r] * rewards[r] for r in RATINGS))


def entropy(probs: dict[str, float]) -> float:
    return float(-sum(p * math.log(p) for p in probs.values() if p > 0))


def dimension_score(probs: dict[str, float], rewards: dict[str, float] = RATING_REWARDS) -> DimensionScore:
    return DimensionScore(probs, expected_reward(probs, rewards), max(probs, key=probs.get), entropy(probs))


def video_reward(scores: dict[str, DimensionScore]) -> float:
    return float(np.mean([s.expected_reward for s in scores.values()]))


def check_rewards(rewards: dict[str, float]) -> None:
    if set(rewards) != set(RATINGS):
        raise ValueError(f"rating rewards must name exactly {RATINGS}, got {sorted(rewards)}")


def _greedy_reasons(model, tokenizer, geometry, queries, ratings, device, max_new_tokens) -> list[str]:
    """Greedy continuation after the chosen rating word; returns the reason text."""
    import torch

    batch = collate(tokenizer, queries, geometry, with_reason=False, with_answer=False, padding_side="left")
    rating_ids = rating_token_ids(tokenizer)
    extra = torch.tensor([[rating_ids[RATINGS.index(r)]] for r in ratings])
    batch["input_ids"] = torch.cat([batch["input_ids"], extra], dim=1)
    batch["attention_mask"] = torch.cat([batch["attention_mask"], torch.ones_like(extra)], dim=1)
    batch["mm_token_type_ids"] = torch.cat([batch["mm_token_type_ids"], torch.zeros_like(extra)], dim=1)
    batch = {k: v.to(device) for k, v in batch.items()}
    with torch.no_grad():
        out = model.generate(**batch, do_sample=False, max_new_tokens=max_new_tokens,
                             pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"))
    texts = tokenizer.batch_decode(out[:, batch["input_ids"].shape[1] - 1 :], skip_special_tokens=True)
    reasons = []
    for text in texts:
        try:
            reasons.append(parse_answer(text)[1])
        except CriticDataError:
            reasons.append(text.strip())
    return reasons


def score_queries(model, tokenizer, geometry: VisionGeometry, queries: list[Query], *, batch_size: int = 16,
                  device: str = "cpu", with_reasons: bool = False, max_new_tokens: int = 32) -> list[tuple[dict, str | None]]:
    """(rating probabilities, reason or None) per query, batched, left-padded: answer position is -1."""
    import torch

    rating_ids = rating_token_ids(tokenizer)
    results = []
    for start in range(0, len(queries), batch_size):
        chunk = queries[start : start + batch_size]
        batch = collate(tokenizer, chunk, geometry, with_reason=False, with_answer=False, padding_side="left")
        with torch.no_grad():
            logits = model(**{k: v.to(device) for k, v in batch.items()}).logits[:, -1].float().cpu()
        probs = logits[:, rating_ids].softmax(-1).tolist()
        prob_dicts = [dict(zip(RATINGS, p)) for p in probs]
        reasons = [None] * len(chunk)
        if with_reasons:
            ratings = [max(p, key=p.get) for p in prob_dicts]
            reasons = _greedy_reasons(model, tokenizer, geometry, chunk, ratings, device, max_new_tokens)
        results.extend(zip(prob_dicts, reasons))
    return results


def score_videos(critic_dir: str | Path, items: list[ScoreItem], batch_size: int = 16, with_reasons: bool = False, *,
                 dimensions: tuple[str, ...] = DIMENSIONS, rating_rewards: dict[str, float] | None = None,
                 device: str = "cpu", critic=None, max_new_tokens: int = 32) -> list[VideoScore]:
    """Score each item on every dimension; `critic` may pass an already loaded (model, tokenizer, meta)."""
    rewards = dict(rating_rewards or RATING_REWARDS)
    check_rewards(rewards)
    if not items:
        return []
    model, tokenizer, meta = critic or load_critic(critic_dir, device=device)
    geometry = VisionGeometry.from_config(model.config)
    size = meta.frame_sizer(geometry)
    sampled = [sample_frames_timed(item.video, meta.num_frames, size, item.fps or GENERATED_FPS, timed=geometry.timed)
               for item in items]
    queries = [Query(f, item.caption, d, fps=fps) for (f, fps), item in zip(sampled, items) for d in dimensions]
    flat = score_queries(model, tokenizer, geometry, queries, batch_size=batch_size, device=device,
                         with_reasons=with_reasons, max_new_tokens=max_new_tokens)
    scores = []
    for i in range(len(items)):
        per_dim = {}
        for j, d in enumerate(dimensions):
            probs, reason = flat[i * len(dimensions) + j]
            per_dim[d] = dimension_score(probs, rewards)
            per_dim[d].reason = reason
        scores.append(VideoScore(per_dim, video_reward(per_dim)))
    return scores


def critic_reward_fn(critic, dimensions: tuple[str, ...] = DIMENSIONS, *, device: str = "cpu", offload: bool | None = None):
    """A reward_fn(videos, prompts, metadata) for the alignment trainer from a loaded (model, tokenizer, meta):
    videos [B, T, 3, H, W] in [0, 1] → mean expected reward per video. offload (None: by the critic's size)
    keeps the critic on the CPU between calls while the generator trains on the same GPU."""
    import torch

    from ..scale import MemoryProfile, module_parameters
    from .spec import critic_on_device

    model = critic[0]
    if offload is None:
        offload = MemoryProfile.for_size(module_parameters(model)).offload_critic
    if offload:
        model.to("cpu")

    def reward(videos, prompts, metadata=None):
        frames = (videos.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 1, 3, 4, 2).cpu().numpy()
        with critic_on_device(model, device, offload):
            scores = score_videos(None, [ScoreItem(f, p) for f, p in zip(frames, prompts)], dimensions=dimensions,
                                  critic=critic, device=device)
        return torch.tensor([s.reward for s in scores])

    return reward
