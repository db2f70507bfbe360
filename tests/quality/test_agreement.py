"""Agreement and consensus as pure functions, against values computed by hand."""
import numpy as np
import pytest

from annotation.quality.agreement import agreement_with_others, alpha_with_ci, krippendorff_alpha, pairwise_agreement
from annotation.quality.consensus import dawid_skene, majority_from_counts, majority_vote
from annotation.quality.counts import counts_from_labels, counts_from_reliability_matrix

N = None
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the 4-coder example with missing data.
TEXTBOOK = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]


def test_textbook_example_nominal_ordinal_interval():
    counts = counts_from_reliability_matrix(TEXTBOOK, [1, 2, 3, 4, 5])
    assert krippendorff_alpha(counts, "nominal") == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(counts, "ordinal") == pytest.approx(0.815, abs=5e-4)
    assert krippendorff_alpha(counts, "interval") == pytest.approx(0.849, abs=5e-4)


# Good=0, Normal=1, Bad=2; three coders, one missing value.
SMALL = [
    ["Good", "Bad", "Good", "Normal"],
    ["Good", "Bad", "Normal", "Normal"],
    ["Normal", "Bad", "Bad", N],
]


def test_small_three_level_example_by_hand():
    # Coincidences: o00=1, o01=1.5, o02=.5, o11=2, o12=.5, o22=3; n=(3,4,4), n=11.
    # Ordinal: d01=(7/2)^2=12.25, d12=(8/2)^2=16, d02=(11-3.5)^2=56.25;
    #   observed 2(1.5*12.25+.5*56.25+.5*16)=109, expected 2(12*12.25+12*56.25+16*16)=2156,
    #   alpha = 1 - 10*109/2156 = 1066/2156.
    # Nominal: observed 5, expected 121-41=80, alpha = 1 - 10*5/80 = 0.375.
    counts = counts_from_reliability_matrix(SMALL, ["Good", "Normal", "Bad"])
    assert krippendorff_alpha(counts, "ordinal") == pytest.approx(1066 / 2156)
    assert krippendorff_alpha(counts, "nominal") == pytest.approx(0.375)
    # Pairs: 1/3 + 3/3 + 0/3 + 1/1 agree -> 5/10.
    assert pairwise_agreement(counts) == pytest.approx(0.5)


def test_perfect_agreement_is_one_and_no_variation_is_undefined():
    perfect = np.array([[2, 0, 0], [0, 3, 0], [0, 0, 2]])
    assert krippendorff_alpha(perfect, "ordinal") == pytest.approx(1.0)
    assert np.isnan(krippendorff_alpha(np.array([[2, 0, 0], [3, 0, 0]]), "ordinal"))


def test_bootstrap_interval_is_seeded_and_brackets_alpha():
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 3, size=300)
    labels = np.concatenate([np.where(rng.random(300) < 0.8, truth, rng.integers(0, 3, 300)) for _ in range(3)])
    units = np.tile(np.arange(300), 3)
    counts = counts_from_labels(units, labels, 300, 3)
    first = alpha_with_ci(counts, level="ordinal", samples=300, seed=7)
    again = alpha_with_ci(counts, level="ordinal", samples=300, seed=7)
    other = alpha_with_ci(counts, level="ordinal", samples=300, seed=8)
    assert first == again
    shuffled = alpha_with_ci(counts[rng.permutation(len(counts))], level="ordinal", samples=300, seed=7)
    assert shuffled == first  # the row order of the units does not matter
    assert first.low < first.alpha < first.high
    assert (first.low, first.high) != (other.low, other.high)
    assert 0.4 < first.alpha < 0.9


def test_majority_ties_go_to_the_worse_rating():
    counts = np.array([[1, 0, 1], [1, 1, 0], [2, 1, 0], [0, 0, 0]])
    assert majority_from_counts(counts).tolist() == [2, 1, 0, -1]


def test_agreement_with_the_others_majority():
    # unit 0: coders 0-2 say Good, coder 3 says Bad; unit 1: all Normal.
    units = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    coders = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    labels = np.array([0, 0, 0, 2, 1, 1, 1, 1])
    matches, comparisons = agreement_with_others(units, coders, labels, 2, 4, 3)
    assert comparisons.tolist() == [2, 2, 2, 2]
    assert matches.tolist() == [2, 2, 2, 1]
    # With three coders Good, Good, Bad each Good coder's others are tied Good/Bad: the worse (Bad) wins.
    matches, _ = agreement_with_others(np.zeros(3, int), np.arange(3), np.array([0, 0, 2]), 1, 3, 3)
    assert matches.tolist() == [0, 0, 0]


def test_dawid_skene_beats_majority_with_known_annotator_noise():
    rng = np.random.default_rng(42)
    n_items, k = 400, 3
    truth = rng.choice(k, size=n_items, p=[0.35, 0.2, 0.45])
    accuracy = [0.92, 0.9, 0.4, 0.38, 0.36]  # two reliable, three close to random (1/3)
    units, coders, labels = [], [], []
    for coder, acc in enumerate(accuracy):
        correct = rng.random(n_items) < acc
        # Noisy annotators are biased, not uniform: when wrong they drift to the same neighbour.
        wrong = (truth + 1 + (coder % 2)) % k
        units.append(np.arange(n_items))
        coders.append(np.full(n_items, coder))
        labels.append(np.where(correct, truth, wrong))
    units, coders, labels = map(np.concatenate, (units, coders, labels))
    majority = majority_vote(units, labels, n_items, k)
    ds, posterior, confusion = dawid_skene(units, coders, labels, n_items, len(accuracy), k)
    majority_acc = (majority == truth).mean()
    ds_acc = (ds == truth).mean()
    assert ds_acc > majority_acc + 0.1
    assert ds_acc > 0.85
    # The reliable annotators' estimated confusion matrices are near-diagonal, the noisy ones are not.
    assert np.diag(confusion[0]).mean() > 0.8
    assert np.diag(confusion[3]).mean() < 0.6
    assert np.allclose(posterior.sum(axis=1), 1.0)
