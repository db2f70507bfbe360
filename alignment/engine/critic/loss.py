"""Pure tensor functions: the answer-token loss, the rating read-out, the learning-rate schedule."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .spec import IGNORE_INDEX


def answer_losses(logits: torch.Tensor, labels: torch.Tensor, rating_weight: float = 1.0) -> torch.Tensor:
    """[B] cross-entropy on each example's answer tokens (labels != IGNORE_INDEX), next-token shifted.

    Each example's token losses are averaged, the rating word (the first answer token) counting
    `rating_weight` tokens, so a long reason does not drown it.
    """
    shift_logits = logits[:, :-1].float()
    shift_labels = labels[:, 1:]
    mask = (shift_labels != IGNORE_INDEX).float()
    token_loss = F.cross_entropy(
        shift_logits.reshape(-1, shift_logits.size(-1)), shift_labels.clamp_min(0).reshape(-1), reduction="none"
    ).view(shift_labels.shape)
    if rating_weight != 1.0:
        rows = torch.arange(labels.size(0), device=labels.device)
        mask = mask.clone()
        mask[rows, answer_start(labels).clamp_min(0)] *= rating_weight
    return (token_loss * mask).sum(1) / mask.sum(1).clamp_min(1)


def answer_loss(logits: torch.Tensor, labels: torch.Tensor, example_weights: torch.Tensor | None = None,
                rating_weight: float = 1.0) -> torch.Tensor:
    """The examples' answer losses averaged with `example_weights` (class weighting), so long reasons do
    not outweigh short answers."""
    per_example = answer_losses(logits, labels, rating_weight)
    if example_weights is None:
        return per_example.mean()
    weights = example_weights.to(per_example)
    return (per_example * weights).sum() / weights.sum()


def answer_start(labels: torch.Tensor) -> torch.Tensor:
    """Index of the position whose logits predict the first answer token (one per row)."""
    first = (labels != IGNORE_INDEX).int().argmax(dim=1)
    return first - 1


def rating_probs(logits: torch.Tensor, positions: torch.Tensor, rating_ids: list[int]) -> torch.Tensor:
    """[B, 3] probabilities of the rating words at `positions`, renormalised over the three."""
    rows = torch.arange(logits.size(0), device=logits.device)
    picked = logits[rows, positions][:, rating_ids].float()
    return picked.softmax(dim=-1)


def lr_factor(step: int, total_steps: int, warmup_steps: int) -> float:
    """Linear warm-up then cosine decay to zero, as a multiplier of the base learning rate."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def class_weights(counts: dict[str, int], ratings: tuple[str, ...]) -> dict[str, float]:
    """Inverse-frequency weights normalised to mean 1 over present classes; absent classes get 0."""
    present = {r: counts.get(r, 0) for r in ratings if counts.get(r, 0) > 0}
    if not present:
        return {r: 0.0 for r in ratings}
    raw = {r: 1.0 / c for r, c in present.items()}
    scale = len(raw) / sum(raw.values())
    return {r: raw.get(r, 0.0) * scale for r in ratings}
