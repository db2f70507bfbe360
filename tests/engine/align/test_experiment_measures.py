"""The alignment experiment's read-outs: how well the critic ranks videos as the judge does, and when a run
counts as reward hacking."""
import pytest

from alignment.engine.align.experiment import rank_correlation, reward_hacking


def test_rank_correlation_follows_order_not_scale():
    assert rank_correlation([1, 2, 3, 4], [10, 200, 3000, 40000]) == pytest.approx(1.0)
    assert rank_correlation([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # Ties share their mean rank: ranks (0.5, 0.5, 2, 3) against (0, 1, 2, 3) correlate at 0.9487.
    assert rank_correlation([5, 5, 6, 7], [1, 2, 3, 4]) == pytest.approx(0.9486833, abs=1e-6)


def test_rank_correlation_is_undefined_when_one_side_does_not_vary():
    assert rank_correlation([0.3, 0.3, 0.3], [1, 2, 3]) is None


@pytest.mark.parametrize("critic_gain, judged_gain, hacked", [
    (0.12, -0.14, True),   # the critic's reward rose, the judge's fell
    (0.12, 0.20, False),   # both rose
    (0.01, -0.05, False),  # the critic barely moved: a failed run, not hacking
    (None, -0.05, False),  # no critic in the run
])
def test_reward_hacking_is_a_critic_rise_without_a_judged_one(critic_gain, judged_gain, hacked):
    assert reward_hacking({"critic_gain": critic_gain, "judged_gain": judged_gain}) is hacked
