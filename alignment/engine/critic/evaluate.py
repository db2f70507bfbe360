"""Evaluation of ratings as pure functions over label lists: accuracy, macro-F1, confusion matrices,
expected calibration error, agreement with single annotators beside inter-annotator agreement, and
the majority-class baseline."""

from __future__ import annotations

from collections import Counter
from itertools import combinations

import numpy as np

from .questions import RATINGS


def accuracy(truth: list[str], predicted: list[str]) -> float:
    _same_length(truth, predicted)
    return float(np.mean([t == p for t, p in zip(truth, predicted)])) if truth else float("nan")


def confusion_matrix(truth: list[str], predicted: list[str], labels: tuple[str, ...] = RATINGS) -> list[list[int]]:
    """matrix[i][j]: items whose truth is labels[i] and prediction labels[j]."""
    _same_length(truth, predicted)
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for t, p in zip(truth, predicted):
        matrix[index[t]][index[p]] += 1
    return matrix


def macro_f1(truth: list[str], predicted: list[str], labels: tuple[str, ...] = RATINGS) -> float:
    """Mean F1 over the labels that occur in truth or prediction (F1 = 0 when precision+recall = 0)."""
    matrix = np.array(confusion_matrix(truth, predicted, labels))
    scores = []
    for i in range(len(labels)):
        tp, support, predicted_count = matrix[i, i], matrix[i].sum(), matrix[:, i].sum()
        if support == 0 and predicted_count == 0:
            continue
        precision = tp / predicted_count if predicted_count else 0.0
        recall = tp / support if support else 0.0
        scores.append(0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall))
    return float(np.mean(scores)) if scores else float("nan")


def majority_baseline(train_labels: list[str], test_labels: list[str]) -> tuple[str, float]:
    """(most frequent training label, accuracy of always predicting it on the test labels).
    Ties go to the label listed first in RATINGS."""
    counts = Counter(train_labels)
    majority = max(RATINGS, key=lambda r: (counts.get(r, 0), -RATINGS.index(r)))
    return majority, accuracy(test_labels, [majority] * len(test_labels))


def expected_calibration_error(confidences: list[float], correct: list[bool], bins: int = 10) -> float:
    """Σ_b (n_b / n) · |accuracy_b − mean confidence_b| over equal-width confidence bins (0, 1]."""
    conf = np.asarray(confidences, dtype=float)
    hits = np.asarray(correct, dtype=float)
    if len(conf) == 0:
        return float("nan")
    which = np.clip(np.ceil(conf * bins) - 1, 0, bins - 1).astype(int)
    total = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            total += members.sum() / len(conf) * abs(hits[members].mean() - conf[members].mean())
    return float(total)


def annotator_agreement(labels_by_item: list[dict[str, str]], predicted: list[str]) -> dict[str, float]:
    """Model vs single annotators beside annotators vs each other.

    labels_by_item: per item {annotator_id: rating}. "model_vs_annotator": mean over all
    (item, annotator) pairs of model == annotator; "annotator_vs_annotator": mean over all pairs of
    annotators on the same item of their agreement (items with one annotator do not count).
    """
    _same_length(labels_by_item, predicted)
    model_hits = [p == r for labels, p in zip(labels_by_item, predicted) for r in labels.values()]
    pair_hits = [a == b for labels in labels_by_item for a, b in combinations(labels.values(), 2)]
    return {
        "model_vs_annotator": float(np.mean(model_hits)) if model_hits else float("nan"),
        "annotator_vs_annotator": float(np.mean(pair_hits)) if pair_hits else float("nan"),
        "pairs": len(pair_hits),
    }


def evaluate_ratings(truth: dict[str, list[str]], predicted: dict[str, list[str]],
                     confidences: dict[str, list[float]] | None = None,
                     train_labels: dict[str, list[str]] | None = None) -> dict:
    """Per dimension accuracy, macro-F1, confusion, ECE, majority baseline; plus the means."""
    report = {}
    for dim in truth:
        row = {
            "accuracy": accuracy(truth[dim], predicted[dim]),
            "macro_f1": macro_f1(truth[dim], predicted[dim]),
            "confusion": confusion_matrix(truth[dim], predicted[dim]),
            "n": len(truth[dim]),
        }
        if confidences is not None:
            correct = [t == p for t, p in zip(truth[dim], predicted[dim])]
            row["ece"] = expected_calibration_error(confidences[dim], correct)
        majority, baseline = majority_baseline((train_labels or truth)[dim], truth[dim])
        row["majority_label"], row["majority_accuracy"] = majority, baseline
        report[dim] = row
    report["mean_accuracy"] = float(np.mean([report[d]["accuracy"] for d in truth]))
    report["mean_macro_f1"] = float(np.mean([report[d]["macro_f1"] for d in truth]))
    return report


def _same_length(a, b) -> None:
    if len(a) != len(b):
        raise ValueError(f"length mismatch: {len(a)} labels vs {len(b)} predictions")
