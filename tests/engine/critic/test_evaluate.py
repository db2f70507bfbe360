"""Evaluation metrics against tables computed by hand."""

import math

import pytest

from alignment.engine.critic.evaluate import (
    accuracy, annotator_agreement, confusion_matrix, evaluate_ratings, expected_calibration_error, macro_f1,
    majority_baseline,
)

TRUTH = ["Good", "Good", "Bad", "Bad", "Bad", "Normal"]
PRED = ["Good", "Bad", "Bad", "Bad", "Good", "Normal"]


def test_accuracy_and_confusion():
    assert accuracy(TRUTH, PRED) == pytest.approx(4 / 6)
    # rows truth Good/Normal/Bad, columns prediction Good/Normal/Bad
    assert confusion_matrix(TRUTH, PRED) == [[1, 0, 1], [0, 1, 0], [1, 0, 2]]
    with pytest.raises(ValueError):
        accuracy(TRUTH, PRED[:-1])


def test_macro_f1_by_hand():
    # Good: P=1/2 R=1/2 F=1/2; Normal: F=1; Bad: P=2/3 R=2/3 F=2/3
    assert macro_f1(TRUTH, PRED) == pytest.approx((0.5 + 1 + 2 / 3) / 3)
    # a class never predicted and never true does not count; one predicted but absent scores 0
    assert macro_f1(["Good", "Good"], ["Good", "Bad"]) == pytest.approx((2 / 3 + 0) / 2)


def test_majority_baseline():
    assert majority_baseline(["Bad", "Bad", "Good"], ["Bad", "Good", "Bad", "Normal"]) == ("Bad", 0.5)
    assert majority_baseline(["Good", "Bad"], ["Good"])[0] == "Good"  # tie → first in RATINGS


def test_expected_calibration_error_by_hand():
    # bins of width 0.5: (0, 0.5] holds 0.3 (wrong); (0.5, 1] holds 0.9 (right), 0.7 (wrong)
    ece = expected_calibration_error([0.3, 0.9, 0.7], [False, True, False], bins=2)
    assert ece == pytest.approx(1 / 3 * 0.3 + 2 / 3 * abs(0.5 - 0.8))
    assert expected_calibration_error([1.0, 1.0], [True, True]) == 0.0


def test_annotator_agreement_by_hand():
    labels = [{"a": "Good", "b": "Good", "c": "Bad"}, {"a": "Bad", "b": "Normal"}, {"a": "Good"}]
    report = annotator_agreement(labels, ["Good", "Bad", "Bad"])
    assert report["model_vs_annotator"] == pytest.approx(3 / 6)  # Good:2/3, Bad:1/2, Bad:0/1
    assert report["annotator_vs_annotator"] == pytest.approx(1 / 4)  # pairs ab ✓, ac ✗, bc ✗, ab ✗
    assert report["pairs"] == 4


def test_evaluate_ratings_report():
    report = evaluate_ratings({"fidelity": TRUTH}, {"fidelity": PRED}, confidences={"fidelity": [1.0] * 6},
                              train_labels={"fidelity": ["Bad"] * 3})
    row = report["fidelity"]
    assert row["accuracy"] == pytest.approx(4 / 6)
    assert row["majority_label"] == "Bad" and row["majority_accuracy"] == pytest.approx(0.5)
    assert row["ece"] == pytest.approx(1 - 4 / 6)
    assert report["mean_accuracy"] == pytest.approx(4 / 6)
    assert not math.isnan(report["mean_macro_f1"])
