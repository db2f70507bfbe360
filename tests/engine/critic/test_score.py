"""Scoring: reward mapping, probabilities, batching invariance, reasons."""

import math

import numpy as np
import pytest

from alignment.engine.critic.data import ScoreItem
from alignment.engine.critic.score import (
    RATING_REWARDS, check_rewards, dimension_score, entropy, expected_reward, score_videos, video_reward,
)
from alignment.engine.critic.spec import load_critic


def test_reward_mapping():
    assert expected_reward({"Good": 1.0, "Normal": 0.0, "Bad": 0.0}) == pytest.approx(0.9)
    assert expected_reward({"Good": 0.0, "Normal": 1.0, "Bad": 0.0}) == pytest.approx(0.2)
    assert expected_reward({"Good": 0.5, "Normal": 0.25, "Bad": 0.25}) == pytest.approx(0.45 + 0.05 + 0.0125)
    custom = {"Good": 1.0, "Normal": 0.5, "Bad": 0.0}
    assert expected_reward({"Good": 0.0, "Normal": 1.0, "Bad": 0.0}, custom) == 0.5
    score = dimension_score({"Good": 0.2, "Normal": 0.3, "Bad": 0.5})
    assert score.rating == "Bad"
    assert entropy({"Good": 1 / 3, "Normal": 1 / 3, "Bad": 1 / 3}) == pytest.approx(math.log(3))
    assert entropy({"Good": 1.0, "Normal": 0.0, "Bad": 0.0}) == 0.0
    scores = {"a": dimension_score({"Good": 1.0, "Normal": 0.0, "Bad": 0.0}),
              "b": dimension_score({"Good": 0.0, "Normal": 0.0, "Bad": 1.0})}
    assert video_reward(scores) == pytest.approx((0.9 + 0.05) / 2)
    with pytest.raises(ValueError):
        check_rewards({"Good": 1.0})


def test_score_videos_batched_and_with_reasons(tiny_critic_dir, synthetic_small, tmp_path):
    from alignment.engine.video_io import encode_video

    path = tmp_path / "v.mp4"
    encode_video(synthetic_small[0][0], path, fps=8)
    items = [ScoreItem(path, synthetic_small[0][1])] + [ScoreItem(p, c) for p, c, _ in synthetic_small[1:4]]
    critic = load_critic(tiny_critic_dir)
    one_by_one = score_videos(tiny_critic_dir, items[:2], batch_size=1, critic=critic)
    batched = score_videos(tiny_critic_dir, items, batch_size=5, critic=critic)
    assert len(batched) == 4
    for a, b in zip(one_by_one, batched):
        assert set(a.dimensions) == {"semantic", "motion", "fidelity"}
        for dim in a.dimensions:
            assert sum(b.dimensions[dim].probs.values()) == pytest.approx(1.0)
            np.testing.assert_allclose(list(a.dimensions[dim].probs.values()), list(b.dimensions[dim].probs.values()), atol=1e-5)
            assert 0.05 <= b.dimensions[dim].expected_reward <= 0.9
            assert 0 <= b.dimensions[dim].entropy <= math.log(3) + 1e-6
        assert a.reward == pytest.approx(np.mean([s.expected_reward for s in a.dimensions.values()]), abs=1e-6)
    with_reasons = score_videos(tiny_critic_dir, items[:2], batch_size=4, with_reasons=True, critic=critic, max_new_tokens=8)
    assert all(isinstance(s.reason, str) for v in with_reasons for s in v.dimensions.values())
    assert with_reasons[0].to_dict()["dimensions"]["fidelity"]["rating"] in ("Good", "Normal", "Bad")
    assert score_videos(tiny_critic_dir, []) == []
