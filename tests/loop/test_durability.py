"""Jobs outlive their workers: heartbeats while a job runs, the reaper re-queues a vanished worker's job
(attempts counted, capped), and a loop driven by real workers survives a worker killed with SIGKILL."""
import time

import pytest
from django.utils import timezone

from alignment.models import Job
from alignment.services.durability import jobs_reap_stale
from alignment.services.jobs import Heartbeat, job_create
from annotation.models import Video
from tests.conftest import start_worker, stop_worker, token_client
from tests.loop.conftest import loop_params, wait_for, wait_job


def _running(params, *, attempts=1, silent_for=600) -> Job:
    job, _ = job_create(kind="generate", params=params, dispatch=False)
    Job.objects.filter(pk=job.pk).update(status="running", attempts=attempts, worker="gone-host:123",
                                         heartbeat_at=timezone.now() - timezone.timedelta(seconds=silent_for))
    return Job.objects.get(pk=job.pk)


def _slow_down(version) -> None:
    """Bigger videos, so a stage is still running when the test acts on it."""
    from alignment.models import ModelVersion

    ModelVersion.objects.filter(pk=version.pk).update(config={**version.config, "frames": 48, "height": 64, "width": 64})


def _generate_params(version, prompts, seeds=(0,)):
    return {"generator_version": version.pk, "prompt_ids": [p.pk for p in prompts], "seeds": list(seeds)}


def test_the_reaper_requeues_a_silent_job_and_leaves_a_live_one(active_generator, world_prompts):
    silent = _running(_generate_params(active_generator, world_prompts[:1]))
    live = _running(_generate_params(active_generator, world_prompts[1:2]), silent_for=5)
    outcome = jobs_reap_stale(stale_after=60, max_attempts=3)
    assert outcome["requeued"] == [silent.pk] and outcome["failed"] == []
    silent.refresh_from_db()
    live.refresh_from_db()
    assert silent.status == "queued" and silent.worker == "" and silent.attempts == 1
    assert "re-queued by the reaper: no heartbeat from worker gone-host:123" in silent.log_tail
    assert live.status == "running"


def test_a_stage_another_job_runs_inline_is_left_to_its_parent(active_generator, world_prompts):
    parent = _running(_generate_params(active_generator, world_prompts[:1]))
    Job.objects.filter(pk=parent.pk).update(kind="align")
    inline = _running(_generate_params(active_generator, world_prompts[1:2]))
    Job.objects.filter(pk=inline.pk).update(parent=parent)
    assert jobs_reap_stale(stale_after=60)["requeued"] == [parent.pk]
    inline.refresh_from_db()
    assert inline.status == "running"  # the re-run parent takes it up again


def test_a_job_whose_workers_keep_vanishing_fails_at_the_cap_with_the_reason(active_generator, world_prompts):
    job = _running(_generate_params(active_generator, world_prompts[:1]), attempts=3)
    assert jobs_reap_stale(stale_after=60, max_attempts=3)["failed"] == [job.pk]
    job.refresh_from_db()
    assert job.status == "failed" and "gave up after 3 attempts" in job.error


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_keeps_a_job_alive_through_a_long_silent_step(active_generator, world_prompts):
    job = _running(_generate_params(active_generator, world_prompts[:1]), silent_for=600)
    with Heartbeat(job_id=job.pk, interval=0.1):
        time.sleep(0.5)  # a model load that reports nothing
    job.refresh_from_db()
    assert (timezone.now() - job.heartbeat_at).total_seconds() < 1
    assert jobs_reap_stale(stale_after=60)["requeued"] == []


@pytest.mark.django_db(transaction=True)
def test_a_loop_runs_stage_after_stage_on_a_real_worker(celery_worker_process, people, active_generator,
                                                         world_prompts):
    from alignment.loop.policy import policy_update

    policy_update(changes=loop_params(world_prompts, next_round_campaign=people["campaign"].pk))
    started = token_client(people["admin"]).post("/api/retrain/loops/")
    assert started.status_code == 201, started.json()
    loop = wait_job(started.json()["loop"])
    assert loop.status == "succeeded", loop.error + "".join(celery_worker_process.output_lines[-30:])
    assert [s["status"] for s in loop.metrics["stages"]] == ["succeeded"] * 3
    assert loop.stages.count() == 3 and loop.attempts == 1  # woken by its stages, never re-run
    assert people["campaign"].items.filter(video_id__in=loop.result["next_round_video_ids"]).count() == 2


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_loop_on_a_real_worker_stops_its_running_stage_at_the_next_checkpoint(
        celery_worker_process, people, active_generator, world_prompts):
    _slow_down(active_generator)
    params = loop_params(world_prompts, candidate_seeds=range(10))
    params["stages"] = ["generate_candidates", "generate_next_round"]
    loop, _ = job_create(kind="retrain_loop", params=params)
    generated = Video.objects.exclude(generator="")  # the people fixture brings videos of its own
    wait_for(lambda: generated.exists(), what="the first candidate video")
    answer = token_client(people["admin"]).post(f"/api/jobs/{loop.pk}/cancel/")
    assert answer.status_code == 200
    loop = wait_job(loop.pk)
    assert loop.status == "cancelled" and "generate_candidates" in loop.error
    candidates = loop.stages.get()
    assert candidates.status == "cancelled" and generated.count() < 20
    assert not loop.stages.filter(pk__gt=candidates.pk).exists()  # the next round never started


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_stage_is_reaped_and_the_loop_ends_once_with_one_set_of_videos(
        settings, monkeypatch, active_generator, world_prompts):
    import redis

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    monkeypatch.setenv("LIFT_HEARTBEAT_SECONDS", "0.3")
    _slow_down(active_generator)
    params = loop_params(world_prompts, candidate_seeds=range(6))
    params["stages"] = ["generate_candidates", "generate_next_round"]
    worker = start_worker()
    try:
        loop, _ = job_create(kind="retrain_loop", params=params)
        wait_for(lambda: Video.objects.count() >= 2, what="two candidate videos")
        worker.kill()  # SIGKILL in the middle of the stage
        worker.wait()
    finally:
        if worker.poll() is None:
            stop_worker(worker)
    candidates = Job.objects.get(kind="generate")
    made_before = Video.objects.count()
    assert candidates.status == "running" and 2 <= made_before < 12
    assert jobs_reap_stale(stale_after=3)["requeued"] == []  # its last heartbeat is too recent to judge
    time.sleep(3.5)
    reaped = jobs_reap_stale(stale_after=3)
    assert reaped["requeued"] == [candidates.pk]
    worker = start_worker()
    try:
        loop = wait_job(loop.pk, timeout=240)
    finally:
        stop_worker(worker)
    assert loop.status == "succeeded", loop.error
    candidates.refresh_from_db()
    assert candidates.status == "succeeded" and candidates.attempts == 2
    assert candidates.result["reused"] >= made_before and len(candidates.result["video_ids"]) == 12
    assert Video.objects.count() == 12 + 2 == len(set(Video.objects.values_list("generation_key", flat=True)))
    assert Job.objects.filter(kind="generate").count() == 2 and loop.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_a_loop_whose_first_message_was_lost_is_sent_again_by_the_reaper_and_runs(
        celery_worker_process, active_generator, world_prompts):
    params = loop_params(world_prompts)
    params["stages"] = ["generate_candidates"]
    loop, _ = job_create(kind="retrain_loop", params=params, dispatch=False)  # queued, its message lost
    assert jobs_reap_stale(stale_after=60)["loops_woken"] == []  # just queued: workers may be busy
    Job.objects.filter(pk=loop.pk).update(created_at=timezone.now() - timezone.timedelta(seconds=600))
    assert jobs_reap_stale(stale_after=60)["loops_woken"] == [loop.pk]
    assert jobs_reap_stale(stale_after=60)["loops_woken"] == []  # sent once per stale period, not every minute
    loop = wait_job(loop.pk)
    assert loop.status == "succeeded", loop.error + "".join(celery_worker_process.output_lines[-30:])
    assert "sent again by the reaper" in loop.log_tail and loop.attempts == 1
