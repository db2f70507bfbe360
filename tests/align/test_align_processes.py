"""An align job on two processes (LIFT_TRAIN_PROCESSES=2; gloo ranks on this CPU machine): the worker
launches the training as a torchrun child, rank 0's progress fills the job row, and cancel stops every rank."""
import time
from pathlib import Path

import pytest

from alignment.models import Job, ModelVersion
from alignment.services.jobs import JobCancelled, ProgressReporter, job_create, job_start
from tests.conftest import processes_naming

from .conftest import align_params


@pytest.fixture
def two_processes(settings, models_dir):
    settings.LIFT = {**settings.LIFT, "TRAIN_PROCESSES": "2"}


def test_an_align_job_trains_on_two_processes(two_processes, models_dir, generator, critic, real_clips, prompt_bank):
    from alignment.services.aligning import align_output_dir, align_run

    params = align_params(generator, critic, real_clips, candidates={"generate": {"count": 1, "seeds": [0, 1], "seed": 3}})
    job, _ = job_create(kind="align", params=params, dispatch=False)
    job = job_start(job_id=job.pk)
    result = align_run(job=job, report=ProgressReporter(job_id=job.pk))
    job = Job.objects.get(pk=job.pk)
    assert [step for step, _ in job.metrics["curves"]["loss"]] == [1, 2, 3, 4]  # once each: rank 0 alone reports
    assert [step for step, _ in job.metrics["curves"]["reward"]] == [0, 2, 4]
    out = align_output_dir(job=job)
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    assert (out / "run_spec.json").is_file() and (out / "lora").is_dir()
    version = ModelVersion.objects.get(pk=result["version_id"])
    assert version.adapter_path == str(out / "lora") and version.metrics["training"]["steps"] == 4


def test_cancel_reaches_every_rank(two_processes, models_dir, generator, critic, real_clips, prompt_bank):
    from alignment.services.aligning import align_output_dir, align_run

    params = align_params(generator, critic, real_clips, candidates={"generate": {"count": 1, "seeds": [0, 1], "seed": 3}})
    params["settings"].update(steps=200, checkpoint_every=0, validation_every=0)
    job, _ = job_create(kind="align", params=params, dispatch=False)
    job = job_start(job_id=job.pk)
    reporter = ProgressReporter(job_id=job.pk)

    def cancel_once_training(**kwargs):
        if (kwargs.get("phase") or "").startswith("training step 2"):
            Job.objects.filter(pk=job.pk).update(cancel_requested=True)
        return reporter(**kwargs)

    started = time.monotonic()
    with pytest.raises(JobCancelled):
        align_run(job=job, report=cancel_once_training)
    assert time.monotonic() - started < 120
    out = align_output_dir(job=job)
    assert not (out / "lora").exists()  # stopped long before its 200 steps
    time.sleep(0.5)
    assert processes_naming(str(out / "run_spec.json")) == []  # torchrun and both ranks are gone

