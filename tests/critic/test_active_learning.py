"""Score jobs, uncertainty ordering of next-task, and critic-versus-human disagreements in the review queue."""
import pytest

from alignment.models import Job, VideoScore
from alignment.services.jobs import job_create, job_run
from alignment.services.registry import version_promote, version_register
from annotation.models import Campaign, CampaignItem
from annotation.quality.review import review_queue
from annotation.services.leasing import campaign_next_task
from lift.api_errors import ApplicationError
from tests.conftest import token_client
from tests.critic.conftest import world_videos
from tests.factories import CampaignFactory, ItemFactory, UserFactory, VideoFactory, add_member
from tests.quality.util import annotate, ratings


def _score_job(params):
    job, created = job_create(kind="score", params=params, dispatch=False)
    return job_run(job_id=job.pk), created


def _served_order(campaign, count):
    """Videos in the order next-task hands them out, each to a fresh annotator (so nothing is excluded)."""
    served = []
    for _ in range(count):
        user = add_member(campaign, UserFactory(roles=["annotator"]))
        served.append(campaign_next_task(campaign=campaign, annotator=user).item.video_id)
    return served


def _hand_scores(critic, uncertainty_by_video, rating="Good"):
    for video_id, uncertainty in uncertainty_by_video.items():
        for dim in ("semantic", "motion", "fidelity"):
            VideoScore.objects.create(video_id=video_id, critic=critic, dimension=dim, rating=rating, reward=0.9,
                                      probs={"Good": 0.9, "Normal": 0.05, "Bad": 0.05}, uncertainty=uncertainty)


def test_score_job_defaults_to_the_active_critic_and_is_idempotent(critic_version):
    version_promote(version=critic_version)
    videos = world_videos(2)
    first, _ = _score_job({"video_ids": [v.pk for v in videos]})
    assert first.status == "succeeded", first.error
    assert first.params["critic"] == critic_version.pk
    assert (first.result["scored"], first.result["already_scored"]) == (2, 0)
    assert VideoScore.objects.filter(job=first).count() == 6
    again, created = _score_job({"video_ids": [v.pk for v in videos]})
    assert created and again.status == "succeeded"
    assert (again.result["scored"], again.result["already_scored"]) == (0, 2)
    assert VideoScore.objects.count() == 6


@pytest.mark.parametrize("params, field", [
    ({}, "video_ids"),
    ({"video_ids": [999_999]}, "video_ids"),
    ({"video_ids": "1,2"}, "video_ids"),
    ({"campaign": 999_999}, "campaign"),
    ({"critic": 999_999, "video_ids": []}, "critic"),
])
def test_bad_score_requests_are_refused(critic_version, params, field):
    version_promote(version=critic_version)
    with pytest.raises(ApplicationError) as error:
        job_create(kind="score", params=params, dispatch=False)
    assert field in error.value.fields
    assert not Job.objects.exists()


def test_no_active_critic_is_refused(db):
    with pytest.raises(ApplicationError, match="no active critic"):
        job_create(kind="score", params={"video_ids": [VideoFactory().pk]}, dispatch=False)


def test_uncertainty_order_serves_the_most_uncertain_first(critic_version):
    version_promote(version=critic_version)
    campaign = CampaignFactory(overlap=1, task_order=Campaign.TaskOrder.UNCERTAINTY)
    videos = world_videos(4, seed=5)
    for video in videos:
        ItemFactory(campaign=campaign, video=video)
    job, _ = _score_job({"campaign": campaign.pk})
    assert job.status == "succeeded", job.error
    assert job.result["reprioritised"] > 0
    by_uncertainty = {}
    for score in VideoScore.objects.filter(critic=critic_version):
        by_uncertainty.setdefault(score.video_id, []).append(score.uncertainty)
    expected = sorted(by_uncertainty, key=lambda v: -sum(by_uncertainty[v]) / 3)
    priorities = dict(CampaignItem.objects.filter(campaign=campaign).values_list("video_id", "priority"))
    assert [priorities[v] for v in expected] == sorted(priorities.values(), reverse=True)
    assert _served_order(campaign, 4) == expected


def test_promoting_a_critic_reorders_uncertainty_campaigns(critic_version, django_capture_on_commit_callbacks):
    version_promote(version=critic_version)
    campaign = CampaignFactory(overlap=1, task_order=Campaign.TaskOrder.UNCERTAINTY)
    plain = CampaignFactory(overlap=1)  # ordered by priority: left alone
    items = [ItemFactory(campaign=campaign) for _ in range(3)]
    plain_item = ItemFactory(campaign=plain, priority=7)
    ids = [item.video_id for item in items]
    _hand_scores(critic_version, {ids[0]: 1.0, ids[1]: 0.5, ids[2]: 0.1})
    newer = version_register(kind="critic", name="newer", base=critic_version.base, metrics={"mean_accuracy": 0.9})
    _hand_scores(newer, {ids[0]: 0.1, ids[2]: 1.0})  # it has not scored ids[1] yet: bottom until it does
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        version_promote(version=newer)
    assert len(callbacks) == 1  # the re-ordering waits for the promotion to commit...
    callbacks[0]()  # ...and runs then (its score job's dispatch waits for a commit the test never makes)
    priorities = dict(CampaignItem.objects.filter(campaign=campaign).values_list("video_id", "priority"))
    assert priorities[ids[2]] > priorities[ids[0]] > priorities[ids[1]] == 0
    assert CampaignItem.objects.get(pk=plain_item.pk).priority == 7
    score_jobs = Job.objects.filter(kind="score", params__campaign=campaign.pk, params__critic=newer.pk)
    assert score_jobs.count() == 1 and score_jobs[0].status == "queued"


def test_critic_disagreeing_with_the_consensus_puts_finished_items_first_in_the_review_queue(critic_version):
    version_promote(version=critic_version)
    campaign = CampaignFactory(overlap=2)
    annotators = [add_member(campaign, UserFactory(roles=["annotator"])) for _ in range(2)]
    agreed, disputed, unfinished = (ItemFactory(campaign=campaign) for _ in range(3))
    for item in (agreed, disputed):
        for user in annotators:
            annotate(item, user, ratings("Good", "Good", "Good"))
        CampaignItem.objects.filter(pk=item.pk).update(annotations_done=2, is_open=False)
    annotate(unfinished, annotators[0], ratings("Good", "Good", "Good"))  # no consensus yet: never flagged
    CampaignItem.objects.filter(pk=unfinished.pk).update(annotations_done=1)
    _hand_scores(critic_version, {agreed.video_id: 0.2, unfinished.video_id: 0.2})
    _hand_scores(critic_version, {disputed.video_id: 0.2}, rating="Bad")
    from alignment.services.active_learning import critic_disagreements

    found = critic_disagreements(campaign=campaign)
    assert [entry["video_id"] for entry in found] == [disputed.video_id]
    assert found[0]["dimensions"]["motion"] == {"consensus": "Good", "critic": "Bad",
                                                "critic_probs": {"Good": 0.9, "Normal": 0.05, "Bad": 0.05}}
    queue = review_queue(campaign=campaign)
    flagged = [entry for entry in queue if "critic_disagrees" in entry["flags"]]
    assert {entry["video_id"] for entry in flagged} == {disputed.video_id} and len(flagged) == 2
    assert queue[:2] == flagged  # the two annotations of the disputed item come first
    reviewer = add_member(campaign, UserFactory(roles=["reviewer"]))
    response = token_client(reviewer).get(f"/api/campaigns/{campaign.pk}/review-queue/")
    assert response.status_code == 200
    first = response.json()["results"][0]
    assert first["video_id"] == disputed.video_id
    assert first["video_flags"]["critic_disagrees"]["semantic"]["critic"] == "Bad"


def test_switching_a_campaign_to_uncertainty_orders_it_by_the_active_critic(critic_version,
                                                                           django_capture_on_commit_callbacks):
    version_promote(version=critic_version)
    campaign = CampaignFactory(overlap=1)
    items = [ItemFactory(campaign=campaign) for _ in range(3)]
    _hand_scores(critic_version, {items[0].video_id: 0.1, items[1].video_id: 0.9})
    admin = token_client(UserFactory(roles=["admin"]))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin.patch(f"/api/campaigns/{campaign.pk}/", {"task_order": "uncertainty"}, format="json")
    assert response.status_code == 200 and len(callbacks) == 1
    callbacks[0]()  # what runs once the change commits (its score job's dispatch waits for a later commit)
    assert _served_order(campaign, 3) == [items[1].video_id, items[0].video_id, items[2].video_id]
    assert Job.objects.filter(kind="score", params__campaign=campaign.pk, params__critic=critic_version.pk).exists()
