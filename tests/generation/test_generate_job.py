"""Generate jobs: provenance on every video, one video per key however often the job runs."""
import time

import pytest

from alignment.models import Job
from alignment.services.jobs import job_create, job_dispatch, job_run
from annotation.models import CampaignItem, Video
from lift.api_errors import ApplicationError
from tests.factories import CampaignFactory


def _generate(version, prompts, seeds, campaign=None, overrides=None):
    job, created = job_create(kind="generate", dispatch=False, params={
        "generator_version": version.pk, "prompt_ids": [p.pk for p in prompts], "seeds": seeds,
        "campaign": campaign.pk if campaign else None, "overrides": overrides or {}})
    assert created
    return job_run(job_id=job.pk)


def test_synthetic_generation_fills_a_campaign_with_full_provenance(synthetic_version, world_prompts, settings):
    from alignment.engine.video_io import probe_video

    campaign = CampaignFactory()
    job = _generate(synthetic_version, world_prompts[:2], [0, 1], campaign=campaign)
    assert job.status == "succeeded", job.error
    assert job.result["generated"] == 4 and job.progress == 1.0
    videos = Video.objects.filter(pk__in=job.result["video_ids"])
    assert videos.count() == 4 and CampaignItem.objects.filter(campaign=campaign).count() == 4
    for video in videos:
        assert video.generator == f"generator:{synthetic_version.pk}" and video.seed in (0, 1)
        assert video.prompt.caption.startswith(video.prompt.text.rstrip("."))  # the template expander ran
        info = probe_video(settings.MEDIA_ROOT / video.file.name)
        assert (info.frames, info.width, info.height, info.codec) == (8, 32, 32, "h264")
        assert (video.frames, video.width, video.height) == (8, 32, 32) and len(video.sha256) == 64
        assert (settings.MEDIA_ROOT / video.poster.name).exists()
        truth = video.generation_params["synthetic_truth"]["judgements"]
        assert set(truth) == {"semantic", "motion", "fidelity"}


def test_running_the_same_generation_again_creates_nothing_new(synthetic_version, world_prompts):
    first = _generate(synthetic_version, world_prompts[:2], [3])
    job, created = job_create(kind="generate", dispatch=False, params=first.params)
    assert created  # the first one finished, so this is a new job...
    second = job_run(job_id=job.pk)
    assert second.result == {"video_ids": first.result["video_ids"], "generated": 0, "reused": 2}  # ...that reuses
    assert Video.objects.count() == 2


def test_tiny_cogvideox_generates_through_from_pretrained(tiny_version, world_prompts, settings):
    job = _generate(tiny_version, world_prompts[:1], [0])
    assert job.status == "succeeded", job.error
    video = Video.objects.get(pk=job.result["video_ids"][0])
    assert (video.frames, video.width, video.height) == (9, 32, 32)


@pytest.mark.parametrize("overrides, message", [
    ({"frames": 10}, "8k+1"),
    ({"max_sequence_length": 40}, "max_sequence_length"),
    ({"scheduler": "euler"}, "scheduler"),
    ({"unknown_knob": 1}, "unknown"),
])
def test_requests_the_model_cannot_take_are_refused_before_any_work(tiny_version, world_prompts, overrides, message):
    with pytest.raises(ApplicationError) as refused:
        job_create(kind="generate", dispatch=False, params={
            "generator_version": tiny_version.pk, "prompt_ids": [world_prompts[0].pk], "seeds": [0],
            "overrides": overrides})
    assert message in refused.value.message
    assert Job.objects.count() == 0


def test_bad_params_are_refused(synthetic_version, world_prompts):
    for params in ({"generator_version": 999, "prompt_ids": [world_prompts[0].pk]},
                   {"generator_version": synthetic_version.pk, "prompt_ids": []},
                   {"generator_version": synthetic_version.pk, "prompt_ids": [999999]},
                   {"generator_version": synthetic_version.pk, "prompt_ids": [world_prompts[0].pk], "seeds": [-1]}):
        with pytest.raises(ApplicationError):
            job_create(kind="generate", dispatch=False, params=params)


def test_a_cancel_request_stops_the_job_after_the_current_video(synthetic_version, world_prompts):
    from alignment.services.generation import ENCODERS, generate_run
    from alignment.services.jobs import JobCancelled, ProgressReporter

    job, _ = job_create(kind="generate", dispatch=False, params={
        "generator_version": synthetic_version.pk, "prompt_ids": [p.pk for p in world_prompts], "seeds": [0, 1]})
    report = ProgressReporter(job_id=job.pk)

    def report_then_cancel(*args, **kwargs):
        if Video.objects.exists():  # an admin presses cancel as soon as the first video is in
            Job.objects.filter(pk=job.pk).update(cancel_requested=True)
        return report(*args, **kwargs)

    with pytest.raises(JobCancelled):
        generate_run(job=job, report=report_then_cancel)
    # The first video is registered while the next ENCODERS, already generated, are encoding: all are kept
    # (work finished is not thrown away), and no later one of the 8 is started.
    assert Video.objects.count() == 1 + ENCODERS < 8


def _wait(job_id, statuses, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.status in statuses:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {Job.objects.get(pk=job_id).status}")


@pytest.mark.django_db(transaction=True)
def test_round_trip_through_redis_to_a_real_worker(celery_worker_process, synthetic_version, world_prompts):
    job, created = job_create(kind="generate", params={
        "generator_version": synthetic_version.pk, "prompt_ids": [world_prompts[0].pk], "seeds": [0]})
    again, created_again = job_create(kind="generate", params=job.params)
    assert created and not created_again and again.pk == job.pk  # an identical request returns the same job
    finished = _wait(job.pk, {"succeeded", "failed"})
    assert finished.status == "succeeded", finished.error + "".join(celery_worker_process.output_lines[-30:])
    assert finished.worker and finished.attempts == 1
    assert Video.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_job_leaves_each_key_exactly_once_after_the_rerun(settings, synthetic_version, world_prompts):
    import redis

    from tests.conftest import start_worker, stop_worker

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    params = {"generator_version": synthetic_version.pk, "prompt_ids": [p.pk for p in world_prompts],
              "seeds": list(range(6)), "overrides": {"frames": 48, "height": 64, "width": 64}}
    worker = start_worker()
    try:
        job, _ = job_create(kind="generate", params=params)
        deadline = time.time() + 120
        while Video.objects.count() < 2 and time.time() < deadline:
            time.sleep(0.05)
        worker.kill()  # SIGKILL in the middle of the job
        worker.wait()
    finally:
        if worker.poll() is None:
            stop_worker(worker)
    made_before = Video.objects.count()
    assert 2 <= made_before < 24 and Job.objects.get(pk=job.pk).status == "running"
    worker = start_worker()
    try:
        job_dispatch(job=Job.objects.get(pk=job.pk))  # the re-run
        finished = _wait(job.pk, {"succeeded", "failed"}, timeout=240)
    finally:
        stop_worker(worker)
    assert finished.status == "succeeded", finished.error
    assert finished.attempts == 2 and finished.result["reused"] >= made_before
    assert Video.objects.count() == 24 == len(set(Video.objects.values_list("generation_key", flat=True)))
