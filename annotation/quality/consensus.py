"""Consensus labels: majority vote with a conservative tie rule, or Dawid-Skene (EM over annotator
confusion matrices). Pure numpy; categories are indices in rating order (Good=0, Normal=1, Bad=2).

Tie rule of the majority vote: among the most frequent categories the *worse* one (highest index)
wins, so a video rated Good by one annotator and Bad by another is labelled Bad. For a reward signal
that is the conservative choice: it never promotes a disputed video.
"""
from __future__ import annotations

import numpy as np

from .counts import counts_from_labels


def majority_from_counts(counts: np.ndarray) -> np.ndarray:
    """Per row, the most frequent category; ties go to the highest index; -1 where a row has no votes."""
    counts = np.asarray(counts)
    k = counts.shape[1]
    # argmax returns the first maximum, so search the reversed columns to prefer the worse category.
    winner = k - 1 - np.argmax(counts[:, ::-1], axis=1)
    winner[counts.sum(axis=1) == 0] = -1
    return winner


def majority_vote(unit_index: np.ndarray, labels: np.ndarray, n_units: int, n_categories: int) -> np.ndarray:
    return majority_from_counts(counts_from_labels(unit_index, labels, n_units, n_categories))


def dawid_skene(unit_index: np.ndarray, coder_index: np.ndarray, labels: np.ndarray, n_units: int,
                n_coders: int, n_categories: int, *, max_iter: int = 100, tol: float = 1e-5,
                smoothing: float = 0.01) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dawid & Skene (1979). Returns (labels per unit (-1 where unrated), posteriors, confusions).

    Initialised from the majority vote; confusions[j, true, given] is coder j's estimated
    probability of answering `given` when the truth is `true`.
    """
    keep = labels >= 0
    u, c, y = unit_index[keep], coder_index[keep], labels[keep]
    k = n_categories
    posterior = np.zeros((n_units, k))
    np.add.at(posterior, (u, y), 1.0)
    rated = posterior.sum(axis=1) > 0
    posterior[rated] /= posterior[rated].sum(axis=1, keepdims=True)
    confusion = np.zeros((n_coders, k, k))
    previous = None
    pair = c * k + y  # (coder, given) as one index, for bincount (much faster than np.add.at)
    for _ in range(max_iter):
        # M-step: class priors and each coder's confusion matrix from the current posteriors.
        prior = posterior[rated].sum(axis=0) + smoothing
        prior /= prior.sum()
        for true in range(k):
            tally = np.bincount(pair, weights=posterior[u, true], minlength=n_coders * k).reshape(n_coders, k)
            confusion[:, true, :] = tally + smoothing
        confusion /= confusion.sum(axis=2, keepdims=True)
        # E-step: posterior of each unit's true class given all its labels.
        log_confusion = np.log(confusion)
        log_post = np.empty((n_units, k))
        for true in range(k):
            log_post[:, true] = np.log(prior[true]) + np.bincount(
                u, weights=log_confusion[c, true, y], minlength=n_units)
        log_post -= log_post.max(axis=1, keepdims=True)
        posterior = np.exp(log_post)
        posterior /= posterior.sum(axis=1, keepdims=True)
        posterior[~rated] = 0.0
        if previous is not None and np.abs(posterior - previous).max() < tol:
            break
        previous = posterior.copy()
    result = np.where(rated, posterior.argmax(axis=1), -1)
    return result, posterior, confusion


def consensus_labels(method: str, unit_index, coder_index, labels, n_units, n_coders, n_categories) -> np.ndarray:
    if method == "dawid_skene":
        return dawid_skene(unit_index, coder_index, labels, n_units, n_coders, n_categories)[0]
    if method == "majority":
        return majority_vote(unit_index, labels, n_units, n_categories)
    raise ValueError(f"unknown consensus method {method!r}")
