"""Pairwise preferences with ties: Bradley–Terry outcome probabilities, the loss, and pairwise accuracy.

Pure functions of tensors (scores) and label lists. A pair (A, B) has one scalar score per video and
dimension; d = s_A − s_B. Two ways to let a Bradley–Terry model say "tie":

  rao_kupper (θ > 1; VideoReward's BTT loss, θ = 5):
      P(A) = σ(d − log θ),  P(B) = σ(−d − log θ),  P(tie) = (θ² − 1)·P(A)·P(B)   (the three sum to 1)
  davidson (ν > 0):
      P(A), P(B), P(tie) = softmax(d/2, −d/2, log ν)

Both reduce to plain Bradley–Terry as θ → 1 or ν → 0. At d = 0 Rao–Kupper gives P(tie) = (θ − 1)/(θ + 1),
2/3 for θ = 5. Everything is computed in log space so large score gaps do not underflow.

Accuracy as VideoGen-RewardBench reports it: "w/o ties" is the share of non-tie pairs whose winner has
the higher score; "w/ ties" counts every pair and predicts a tie when |d| ≤ a threshold, which, when not
given, is the one that maximises accuracy on the pairs at hand (tie calibration, Deutsch et al. 2023, as the
benchmark does; calibrate on a validation split and pass the threshold to report a held-out figure).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .questions import RATINGS

OUTCOMES = ("A", "B", "tie")
TIE_MODELS = ("rao_kupper", "davidson")
RAO_KUPPER_THETA = 5.0  # VideoReward's value


def outcome_index(labels: Sequence[str]) -> torch.Tensor:
    """["A", "tie", "B"] → tensor([0, 2, 1]) (positions in OUTCOMES)."""
    unknown = set(labels) - set(OUTCOMES)
    if unknown:
        raise ValueError(f"unknown preference labels {sorted(unknown)}; expected {list(OUTCOMES)}")
    return torch.tensor([OUTCOMES.index(label) for label in labels], dtype=torch.long)


def outcome_log_probs(score_a: torch.Tensor, score_b: torch.Tensor, tie: float = RAO_KUPPER_THETA,
                      model: str = "rao_kupper") -> torch.Tensor:
    """[..., 3]: log P(A), log P(B), log P(tie) for scores of any (equal) shape."""
    d = score_a.float() - score_b.float()
    if model == "rao_kupper":
        if tie <= 1:
            raise ValueError(f"the Rao–Kupper tie parameter θ must exceed 1, got {tie}")
        log_a = F.logsigmoid(d - math.log(tie))
        log_b = F.logsigmoid(-d - math.log(tie))
        return torch.stack([log_a, log_b, math.log(tie**2 - 1) + log_a + log_b], dim=-1)
    if model == "davidson":
        if tie <= 0:
            raise ValueError(f"the Davidson tie parameter ν must be positive, got {tie}")
        return torch.stack([d / 2, -d / 2, torch.full_like(d, math.log(tie))], dim=-1).log_softmax(dim=-1)
    raise ValueError(f"tie model must be one of {TIE_MODELS}, got {model!r}")


def outcome_probs(score_a: torch.Tensor, score_b: torch.Tensor, tie: float = RAO_KUPPER_THETA,
                  model: str = "rao_kupper") -> torch.Tensor:
    """[..., 3]: P(A), P(B), P(tie)."""
    return outcome_log_probs(score_a, score_b, tie, model).exp()


def preference_loss(score_a: torch.Tensor, score_b: torch.Tensor, labels: torch.Tensor, tie: float = RAO_KUPPER_THETA,
                    model: str = "rao_kupper", mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean negative log-likelihood of the observed outcomes (`labels`: indices into OUTCOMES, same shape as the
    scores, e.g. [pairs, dimensions]); `mask` leaves out dimensions a pair was not judged on."""
    log_probs = outcome_log_probs(score_a, score_b, tie, model)
    nll = -log_probs.gather(-1, labels.long().unsqueeze(-1)).squeeze(-1)
    if mask is None:
        return nll.mean()
    mask = mask.to(nll.dtype)
    return (nll * mask).sum() / mask.sum().clamp_min(1)


def accuracy_without_ties(score_a: Sequence[float], score_b: Sequence[float], labels: Sequence[str]) -> float:
    """Share of the non-tie pairs whose preferred video scores strictly higher (equal scores count as wrong: the
    model stated no preference). NaN when every pair is a tie."""
    d, truth = _gaps(score_a, score_b, labels)
    decided = truth != "tie"
    if not decided.any():
        return float("nan")
    predicted = np.where(d > 0, "A", np.where(d < 0, "B", "tie"))
    return float(np.mean(predicted[decided] == truth[decided]))


def accuracy_with_ties(score_a: Sequence[float], score_b: Sequence[float], labels: Sequence[str],
                       threshold: float | None = None) -> tuple[float, float]:
    """(accuracy over all pairs, the tie threshold used): |d| ≤ threshold predicts a tie. With threshold None, the
    threshold that maximises accuracy here (the smallest such one) is chosen among 0 and the observed |d|."""
    d, truth = _gaps(score_a, score_b, labels)
    if len(d) == 0:
        return float("nan"), 0.0 if threshold is None else threshold

    def at(t: float) -> float:
        predicted = np.where(np.abs(d) <= t, "tie", np.where(d > 0, "A", "B"))
        return float(np.mean(predicted == truth))

    if threshold is not None:
        return at(threshold), threshold
    candidates = np.unique(np.concatenate([[0.0], np.abs(d)]))
    scores = [at(float(t)) for t in candidates]
    best = int(np.argmax(scores))  # argmax takes the first, i.e. the smallest threshold, among equals
    return scores[best], float(candidates[best])


def _gaps(score_a, score_b, labels) -> tuple[np.ndarray, np.ndarray]:
    a, b, truth = np.asarray(score_a, dtype=float), np.asarray(score_b, dtype=float), np.asarray(labels, dtype=object)
    if not a.shape == b.shape == truth.shape:
        raise ValueError(f"scores and labels differ in length: {a.shape}, {b.shape}, {truth.shape}")
    outcome_index(list(truth))  # refuses unknown labels
    return a - b, truth.astype(str)


def outcome(rating_a: str, rating_b: str) -> str:
    """Which side two ratings prefer: the better rating (Good over Normal over Bad), or a tie."""
    a, b = RATINGS.index(rating_a), RATINGS.index(rating_b)
    return "A" if a < b else "B" if b < a else "tie"


def noisy_outcome(truth: str, noise: float, rng: np.random.Generator) -> str:
    """A simulated annotator's label: `truth`, or with probability `noise` another outcome drawn uniformly."""
    return str(rng.choice([o for o in OUTCOMES if o != truth])) if rng.random() < noise else truth


def overall_preference(consensus: dict[str, str | None]) -> str | None:
    """The side a pair's per-dimension consensus prefers overall: "A" or "B", whichever wins more dimensions,
    or None when they win equally (such a pair teaches DPO nothing)."""
    margin = sum({"A": 1, "B": -1}.get(choice, 0) for choice in consensus.values())
    return "A" if margin > 0 else "B" if margin < 0 else None
