"""Which reward each candidate is trained with: the human consensus of a snapshot where it exists, the
critic's scores elsewhere, both on one scale."""
import pytest

from alignment.models import VideoScore
from alignment.services.align_data import candidate_scores
from annotation.snapshots.services import snapshot_build, snapshot_create
from tests.snapshots.util import rated_campaign, real_video

pytestmark = pytest.mark.django_db

GOODNESS = {"Good": 0.9, "Normal": 0.2, "Bad": 0.05}


def _critic_says(critic, video, rating):
    for dim in ("semantic", "motion", "fidelity"):
        VideoScore.objects.create(video=video, critic=critic, dimension=dim, rating=rating, reward=GOODNESS[rating],
                                  probs={"Good": 1 / 3, "Normal": 1 / 3, "Bad": 1 / 3}, uncertainty=1.0)


def test_human_consensus_takes_precedence_over_the_critic(critic):
    campaign, users, items, _ = rated_campaign(n_videos=2, n_annotators=3, prompts_shared=False)
    snapshot = snapshot_build(snapshot=snapshot_create(params={"filters": {"campaign_ids": [campaign.pk]}}))
    rated, machine_only, unscored = items[0].video, real_video(900), real_video(901)
    _critic_says(critic, rated, "Bad")  # humans rated it too: their consensus wins
    _critic_says(critic, machine_only, "Good")

    scores = candidate_scores(critic=critic, snapshot=snapshot, videos=[rated, machine_only, unscored])
    assert set(scores) == {rated.pk, machine_only.pk}  # an unscored video has no reward
    human = scores[rated.pk]
    assert human["source"] == "human"
    consensus = human["ratings"]
    assert set(consensus) == {"semantic", "motion", "fidelity"} and consensus != {d: "Bad" for d in consensus}
    assert human["reward"] == pytest.approx(sum(GOODNESS[r] for r in consensus.values()) / 3)
    assert scores[machine_only.pk] == {"ratings": {d: "Good" for d in ("semantic", "motion", "fidelity")},
                                       "reward": pytest.approx(0.9), "source": "critic"}
    # Without the snapshot the critic's verdict stands.
    assert candidate_scores(critic=critic, snapshot=None, videos=[rated])[rated.pk]["source"] == "critic"
