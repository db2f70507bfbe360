"""Scoring service: one VideoScore per video × critic × dimension, idempotent, rewards read back."""
import math

import pytest

from alignment.models import VideoScore
from alignment.selectors import video_rewards
from alignment.services.scoring import SCORE_BATCH_VIDEOS, scores_compute
from lift.api_errors import ApplicationError
from tests.critic.conftest import world_videos


def test_scores_each_video_once_per_dimension_and_reads_rewards_back(critic_version):
    videos = world_videos(3)
    ids = [v.pk for v in videos]
    reports = []
    first = scores_compute(critic=critic_version, video_ids=ids[:2], report=lambda **kw: reports.append(kw))
    assert first["scored"] == 2 and first["already_scored"] == 0
    assert reports and reports[-1]["fraction"] == 1.0
    assert VideoScore.objects.filter(critic=critic_version).count() == 6
    again = scores_compute(critic=critic_version, video_ids=ids)  # only the third is new
    assert (again["scored"], again["already_scored"]) == (1, 2)
    assert VideoScore.objects.filter(critic=critic_version).count() == 9
    rewards = video_rewards(critic=critic_version, video_ids=ids)
    assert set(rewards) == set(ids)
    for entry in rewards.values():
        dims = entry["dimensions"]
        assert set(dims) == {"semantic", "motion", "fidelity"}
        assert math.isclose(entry["reward"], sum(d["reward"] for d in dims.values()) / 3)
        for d in dims.values():
            assert math.isclose(sum(d["probs"].values()), 1.0, rel_tol=1e-5)
            assert 0.05 <= d["reward"] <= 0.9 and 0 <= d["uncertainty"] <= math.log(3) + 1e-6
            assert d["rating"] == max(d["probs"], key=d["probs"].get)


def test_stored_scores_equal_the_engine_scoring_the_files_directly(critic_version, tiny_critic_dir, settings):
    from alignment.engine.critic.data import ScoreItem
    from alignment.engine.critic.score import score_videos

    videos = world_videos(SCORE_BATCH_VIDEOS + 2, seed=9)  # two batches: the second decoded ahead
    scores_compute(critic=critic_version, video_ids=[v.pk for v in videos])
    direct = score_videos(tiny_critic_dir, [ScoreItem(settings.MEDIA_ROOT / v.file.name, v.prompt.caption) for v in videos])
    stored = video_rewards(critic=critic_version, video_ids=[v.pk for v in videos])
    for video, expected in zip(videos, direct):
        assert stored[video.pk]["reward"] == pytest.approx(expected.reward, abs=1e-6)
        for dim, score in expected.dimensions.items():
            assert stored[video.pk]["dimensions"][dim]["rating"] == score.rating


def test_unknown_videos_are_refused_before_scoring(critic_version):
    video = world_videos(1)[0]
    with pytest.raises(ApplicationError, match="Unknown video ids"):
        scores_compute(critic=critic_version, video_ids=[video.pk, 999_999])
    assert not VideoScore.objects.exists()
