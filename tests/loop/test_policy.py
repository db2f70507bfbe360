"""The retrain policy: its threshold, the one-loop guard, its beat schedule and its API."""
import pytest

from alignment.models import Job, RetrainTrigger
from alignment.loop import policy as retraining
from tests.conftest import token_client
from tests.factories import CampaignFactory, ItemFactory, UserFactory, add_member
from tests.loop.conftest import loop_params, rate


@pytest.fixture
def rated(db):
    campaign = CampaignFactory(overlap=3)
    users = [add_member(campaign, UserFactory(roles=["annotator"])) for _ in range(2)]
    return campaign, users


def _enable(min_new: int, prompts, campaign=None):
    return retraining.policy_update(changes={"enabled": True, "min_new_annotations": min_new,
                                             **loop_params(prompts, next_round_campaign=campaign.pk if campaign else None)})


def test_below_the_threshold_nothing_starts_at_it_one_loop_does(rated, active_generator, world_prompts):
    campaign, users = rated
    _enable(5, world_prompts, campaign)
    rate([ItemFactory(campaign=campaign) for _ in range(2)], users)  # 4 ratings
    rate([ItemFactory(campaign=campaign)], users[:1], review_state="rejected")  # rejected ones never count
    assert retraining.policy_check() is None
    assert not Job.objects.filter(kind="retrain_loop").exists() and not RetrainTrigger.objects.exists()

    rate([ItemFactory(campaign=campaign)], users[:1])  # the fifth accepted-or-pending rating
    trigger = retraining.policy_check()
    assert trigger.outcome == "started" and trigger.source == "schedule" and trigger.new_annotations == 5
    loop = Job.objects.get(kind="retrain_loop")
    assert trigger.loop == loop and loop.status == "queued" and loop.queue == "cpu"
    assert loop.params["stages"] == ["snapshot", "generate_candidates", "generate_next_round"]
    # Counting starts again after this loop: the same ratings do not trigger a second one.
    assert retraining.annotations_new_count(policy=retraining.policy_get()) == 0


def test_a_disabled_policy_never_starts_a_loop(rated, active_generator, world_prompts):
    campaign, users = rated
    _enable(1, world_prompts)
    retraining.policy_update(changes={"enabled": False})
    rate([ItemFactory(campaign=campaign)], users)
    assert retraining.policy_check() is None and not Job.objects.exists()


def test_a_trigger_while_a_loop_runs_is_recorded_and_skipped(rated, active_generator, world_prompts):
    campaign, users = rated
    _enable(2, world_prompts)
    rate([ItemFactory(campaign=campaign)], users)
    first = retraining.policy_check()
    rate([ItemFactory(campaign=campaign)], users)  # enough new ratings again while the loop is queued
    second = retraining.policy_check()
    assert second.outcome == "skipped" and second.loop == first.loop and "already queued" in second.reason
    assert Job.objects.filter(kind="retrain_loop").count() == 1


def test_a_scheduled_check_that_cannot_start_a_loop_records_why(rated, active_generator, world_prompts):
    from alignment.models import ModelVersion

    campaign, users = rated
    _enable(2, world_prompts)
    ModelVersion.objects.filter(pk=active_generator.pk).update(is_active=False)
    rate([ItemFactory(campaign=campaign)], users)
    trigger = retraining.policy_check()
    assert trigger.outcome == "skipped" and trigger.loop is None and "no active generator" in trigger.reason
    assert not Job.objects.exists()


def test_the_database_refuses_a_second_unfinished_loop_even_past_the_check(active_generator, world_prompts):
    from django.db import IntegrityError, transaction

    loop = retraining.loop_start(params=loop_params(world_prompts), source="manual").loop
    with pytest.raises(IntegrityError), transaction.atomic():
        Job.objects.create(kind="retrain_loop", params=loop.params, dedupe_key="another", queue="cpu")


def test_saving_the_policy_writes_its_beat_schedule(db, world_prompts, active_generator):
    from django_celery_beat.models import PeriodicTask

    retraining.policy_update(changes={"enabled": True, "check_every_minutes": 7})
    task = PeriodicTask.objects.get(name=retraining.POLICY_TASK_NAME)
    assert task.task == "alignment.retrain_check" and task.enabled and task.interval.every == 7
    assert task.interval.period == "minutes" and task.queue == "cpu"
    retraining.policy_update(changes={"enabled": False})
    task.refresh_from_db()
    assert not task.enabled and PeriodicTask.objects.filter(name=retraining.POLICY_TASK_NAME).count() == 1


def test_policy_api_reads_and_changes_the_settings_and_refuses_bad_ones(people, world_prompts, active_generator):
    admin = token_client(people["admin"])
    policy = admin.get("/api/retrain/policy/").json()
    assert policy["enabled"] is False and policy["min_new_annotations"] == 300
    answer = admin.put("/api/retrain/policy/", {"enabled": True, "min_new_annotations": 40,
                                                "next_round_campaign": people["campaign"].pk, "generator_gate": "people",
                                                "candidates": {"count": 3, "seed": 5, "seeds": [0, 1]}}, format="json")
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["enabled"] and body["min_new_annotations"] == 40 and body["next_round_campaign"] == people["campaign"].pk
    assert body["candidates"] == {"count": 3, "seed": 5, "seeds": [0, 1]} and body["new_annotations"] == 0
    assert body["generator_gate"] == "people"
    for bad, field in (({"next_round_campaign": 999999}, "next_round_campaign"),
                       ({"candidates": {"count": 0}}, "candidates"),
                       ({"source_campaign_ids": [999999]}, "campaign_ids"),
                       ({"review_states": ["approved"]}, "review_states"),
                       ({"min_new_annotations": 0}, "min_new_annotations"),
                       ({"generator_gate": "vote"}, "generator_gate"),
                       ({"align": {"objective": "dpo"}, "candidates": {"seeds": [0]}}, "candidates")):
        refused = admin.put("/api/retrain/policy/", bad, format="json")
        assert refused.status_code == 400 and field in str(refused.json()), (bad, refused.json())
    assert admin.get("/api/retrain/policy/").json()["min_new_annotations"] == 40  # nothing half-written
    assert token_client(people["reviewer"]).get("/api/retrain/policy/").status_code == 403


def test_start_now_api_starts_one_loop_and_a_second_request_is_recorded_as_skipped(people, world_prompts,
                                                                                   active_generator):
    admin = token_client(people["admin"])
    retraining.policy_update(changes=loop_params(world_prompts))
    first = admin.post("/api/retrain/loops/")
    assert first.status_code == 201, first.json()
    assert first.json()["outcome"] == "started" and first.json()["source"] == "manual"
    second = admin.post("/api/retrain/loops/")
    assert second.status_code == 409 and second.json()["code"] == "loop_running"
    assert second.json()["fields"]["loop"] == first.json()["loop"]
    triggers = admin.get("/api/retrain/triggers/").json()
    assert [t["outcome"] for t in triggers] == ["skipped", "started"]
    # The generic jobs endpoint and run_job go through the same check.
    through_jobs = admin.post("/api/jobs/", {"kind": "retrain_loop", "params": loop_params(world_prompts)}, format="json")
    assert through_jobs.status_code == 409 and through_jobs.json()["code"] == "loop_running"
    assert Job.objects.filter(kind="retrain_loop").count() == 1


def test_loop_params_are_checked_before_anything_is_queued(people, world_prompts, active_generator):
    admin = token_client(people["admin"])
    for params, words in (({"stages": ["align"]}, "needs generate_candidates"),
                          ({"stages": ["bake"]}, "stages"),
                          ({"candidates": {"prompt_ids": [999999]}}, "unknown prompt ids"),
                          ({"next_round": {"seeds": [-1]}}, "seeds"),
                          ({"critic": "big"}, "critic"),
                          ({"colour": "red"}, "Unknown retrain_loop params")):
        answer = admin.post("/api/jobs/", {"kind": "retrain_loop", "params": params}, format="json")
        assert answer.status_code == 400 and words in answer.json()["detail"], (params, answer.json())
    assert not Job.objects.exists()
