"""A train_critic job on two processes (LIFT_TRAIN_PROCESSES=2; gloo ranks on this CPU machine): the worker
launches the training as a torchrun child, rank 0's progress fills the job row, the critic is registered
as on one process, and cancel stops every rank."""
import time
from pathlib import Path

import pytest

from alignment.models import Job, ModelVersion
from alignment.services.jobs import JobCancelled, ProgressReporter, job_create, job_run, job_start
from tests.conftest import processes_naming
from tests.critic.conftest import rated_snapshot

HYPER = {"steps": 8, "batch_size": 2, "eval_every": 4, "checkpoint_every": 4, "lr": 3e-4}


@pytest.fixture
def two_processes(settings):
    settings.LIFT = {**settings.LIFT, "TRAIN_PROCESSES": "2"}


def test_a_train_critic_job_trains_on_two_processes(db, two_processes, jobs_dir, tiny_critic_dir):
    snapshot, _, _ = rated_snapshot()
    job, _ = job_create(kind="train_critic", dispatch=False,
                        params={"snapshot": snapshot.pk, "backbone": str(tiny_critic_dir), **HYPER})
    job = job_run(job_id=job.pk)
    assert job.status == "succeeded", job.error
    train_dir = jobs_dir / f"train_critic-{job.pk}" / "train"
    assert (train_dir / "run_spec.json").is_file()
    assert sorted(p.name for p in train_dir.glob("checkpoint-*")) == ["checkpoint-4", "checkpoint-8"]
    assert [step for step, _ in job.metrics["loss_curve"]] == list(range(1, 9))  # once each: rank 0 alone reports
    assert [point["step"] for point in job.metrics["curves"]["val"]] == [4, 8]
    version = ModelVersion.objects.get(pk=job.result["critic_version"])
    assert Path(version.config["critic_dir"]) == train_dir / "critic" and (train_dir / "critic" / "config.json").is_file()
    assert set(version.metrics["accuracy"]) == {"semantic", "motion", "fidelity"}
    assert version.lineage["steps"] == 8


def test_cancel_reaches_every_rank(db, two_processes, jobs_dir, tiny_critic_dir):
    from alignment.services.critic_training import train_critic_run

    snapshot, _, _ = rated_snapshot()
    job, _ = job_create(kind="train_critic", dispatch=False,
                        params={"snapshot": snapshot.pk, "backbone": str(tiny_critic_dir), **HYPER, "steps": 400,
                                "eval_every": 2, "checkpoint_every": 0})
    job = job_start(job_id=job.pk)
    reporter = ProgressReporter(job_id=job.pk)

    def cancel_once_validating(**kwargs):
        if kwargs.get("phase") == "validate":
            Job.objects.filter(pk=job.pk).update(cancel_requested=True)
        return reporter(**kwargs)

    started = time.monotonic()
    with pytest.raises(JobCancelled):
        train_critic_run(job=job, report=cancel_once_validating)
    assert time.monotonic() - started < 120
    train_dir = jobs_dir / f"train_critic-{job.pk}" / "train"
    assert not (train_dir / "critic").exists()  # stopped long before its 400 steps
    time.sleep(0.5)
    assert processes_naming(str(train_dir / "run_spec.json")) == []  # torchrun and both ranks are gone

