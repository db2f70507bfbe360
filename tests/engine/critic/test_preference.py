"""Bradley–Terry with ties and pairwise accuracy, against numbers worked out by hand."""

import math

import pytest
import torch

from alignment.engine.critic.preference import (
    accuracy_with_ties, accuracy_without_ties, outcome_index, outcome_probs, preference_loss)


@pytest.mark.parametrize("model, tie", [("rao_kupper", 5.0), ("rao_kupper", 1.5), ("davidson", 0.7), ("davidson", 3.0)])
def test_outcome_probabilities_sum_to_one_and_follow_the_score_gap(model, tie):
    a = torch.tensor([-40.0, -2.0, 0.0, 0.5, 3.0, 40.0])
    p = outcome_probs(a, torch.zeros_like(a), tie, model)
    assert torch.allclose(p.sum(-1), torch.ones(6), atol=1e-6) and (p >= 0).all()
    assert (p[1:, 0] >= p[:-1, 0]).all() and (p[1:, 1] <= p[:-1, 1]).all()  # a higher s_A makes A likelier, B less
    assert p[2, 0] == pytest.approx(p[2, 1].item())  # symmetric at d = 0
    assert p[2, 2] == p[:, 2].max()  # a tie is likeliest at equal scores
    assert p[-1, 0] > 0.999  # and large gaps do not underflow to NaN
    assert torch.isfinite(p).all()


def test_rao_kupper_by_hand():
    # θ = 5, d = log 5: P(A) = σ(0) = 1/2, P(B) = σ(−2·log 5) = 1/26, P(tie) = 24·(1/2)·(1/26) = 12/26.
    p = outcome_probs(torch.tensor([math.log(5)]), torch.tensor([0.0]), 5.0, "rao_kupper")[0]
    assert p.tolist() == pytest.approx([1 / 2, 1 / 26, 12 / 26], rel=1e-5)
    # At d = 0: P(tie) = (θ − 1)/(θ + 1).
    assert outcome_probs(torch.tensor([0.0]), torch.tensor([0.0]), 5.0)[0, 2].item() == pytest.approx(4 / 6, rel=1e-5)


def test_davidson_by_hand():
    # ν = 1, d = 0: every outcome 1/3; d = 2·log 2: weights 2, 1/2, 1 → 4/7, 1/7, 2/7.
    assert outcome_probs(torch.tensor([0.0]), torch.tensor([0.0]), 1.0, "davidson")[0].tolist() == pytest.approx([1 / 3] * 3)
    p = outcome_probs(torch.tensor([2 * math.log(2)]), torch.tensor([0.0]), 1.0, "davidson")[0]
    assert p.tolist() == pytest.approx([4 / 7, 1 / 7, 2 / 7], rel=1e-5)


def test_loss_is_the_negative_log_likelihood_and_matches_videoreward_btt():
    a, b = torch.tensor([[1.0, 0.0], [0.2, -0.3]]), torch.tensor([[0.0, 0.0], [0.5, -0.3]])
    labels = outcome_index(["A", "tie", "B", "tie"]).reshape(2, 2)
    p = outcome_probs(a, b)
    expected = -(p[0, 0, 0].log() + p[0, 1, 2].log() + p[1, 0, 1].log() + p[1, 1, 2].log()) / 4
    assert preference_loss(a, b, labels).item() == pytest.approx(expected.item(), rel=1e-6)
    # VideoReward's BTT form for a tie: −logσ(d − log k) − logσ(−d − log k) − log(k² − 1), k = 5.
    d = torch.tensor(0.2 - 0.5)
    btt_tie = -torch.nn.functional.logsigmoid(d - math.log(5)) - torch.nn.functional.logsigmoid(-d - math.log(5)) - math.log(24)
    assert preference_loss(a[1, :1], b[1, :1], outcome_index(["tie"])).item() == pytest.approx(btt_tie.item(), rel=1e-6)
    # The mask leaves out unjudged dimensions.
    mask = torch.tensor([[True, False], [False, False]])
    assert preference_loss(a, b, labels, mask=mask).item() == pytest.approx(-p[0, 0, 0].log().item(), rel=1e-6)


def test_gradient_raises_the_winner_and_pulls_tied_scores_together():
    a, b = torch.tensor([0.0, 2.0], requires_grad=True), torch.tensor([0.0, 0.0], requires_grad=True)
    preference_loss(a, b, outcome_index(["A", "tie"])).backward()
    assert a.grad[0] < 0 and b.grad[0] > 0  # descent raises s_A of the pair A won
    assert a.grad[1] > 0 and b.grad[1] < 0  # and narrows the gap of the tied pair


def test_bad_labels_and_tie_parameters_are_refused():
    with pytest.raises(ValueError, match="unknown preference labels"):
        outcome_index(["A", "left"])
    with pytest.raises(ValueError, match="must exceed 1"):
        outcome_probs(torch.zeros(1), torch.zeros(1), 1.0, "rao_kupper")
    with pytest.raises(ValueError, match="tie model"):
        outcome_probs(torch.zeros(1), torch.zeros(1), 2.0, "thurstone")


def test_accuracy_without_ties_skips_tie_pairs_and_counts_equal_scores_wrong():
    a, b = [0.9, 0.1, 0.5, 0.4, 0.3], [0.1, 0.9, 0.5, 0.2, 0.3]
    labels = ["A", "A", "B", "tie", "B"]
    # non-tie pairs: 1 right, 2 wrong, 3 equal scores (wrong), 5 equal (wrong) → 1/4
    assert accuracy_without_ties(a, b, labels) == pytest.approx(1 / 4)
    assert math.isnan(accuracy_without_ties([0.1], [0.2], ["tie"]))
    with pytest.raises(ValueError, match="differ in length"):
        accuracy_without_ties(a, b[:-1], labels)


def test_accuracy_with_ties_given_and_calibrated_threshold():
    a, b = [1.0, 0.0, 0.52, 0.3, 0.0], [0.0, 1.0, 0.5, 0.2, 0.0]
    labels = ["A", "B", "tie", "A", "tie"]  # gaps 1, −1, 0.02, 0.1, 0
    assert accuracy_with_ties(a, b, labels, threshold=0.0) == (pytest.approx(4 / 5), 0.0)  # misses the 0.02 tie
    assert accuracy_with_ties(a, b, labels, threshold=0.5)[0] == pytest.approx(4 / 5)  # calls the 0.1 win a tie
    assert accuracy_with_ties(a, b, labels, threshold=1.0)[0] == pytest.approx(2 / 5)  # and the clear wins too
    accuracy, threshold = accuracy_with_ties(a, b, labels)
    assert accuracy == pytest.approx(1.0) and threshold == pytest.approx(0.02)  # the smallest best threshold
