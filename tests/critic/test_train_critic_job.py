"""train_critic jobs: through a real Celery worker (killed mid-run, resumed exactly from its checkpoint),
evaluation and registration of the version, and bad snapshots refused before any training starts.
The tiny critic trains for a few steps only: this is the wiring; learning is tested in tests/engine/critic."""
import json
import re
import time
from pathlib import Path

import pytest

from alignment.models import Job, ModelVersion
from alignment.services.jobs import job_create, job_dispatch, job_run
from alignment.services.registry import version_promote
from annotation.models import Snapshot
from lift.api_errors import ApplicationError
from tests.conftest import start_worker, stop_worker, token_client
from tests.critic.conftest import rated_snapshot
from tests.factories import UserFactory

HYPER = {"steps": 8, "batch_size": 4, "eval_every": 4, "checkpoint_every": 2, "lr": 3e-4}


def _wait(predicate, seconds: float, what: str):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_train_critic_through_a_worker_resumes_exactly_after_the_worker_is_killed(
        jobs_dir, celery_worker_process, tiny_critic_dir):
    snapshot, _, _ = rated_snapshot()
    job, created = job_create(kind="train_critic", params={"snapshot": snapshot.pk, "backbone": str(tiny_critic_dir),
                                                           "name": "resumed", **HYPER})
    assert created and job.queue == "gpu"
    train_dir = jobs_dir / f"train_critic-{job.pk}" / "train"
    _wait(lambda: (train_dir / "checkpoint-2").is_dir(), 180, "the first checkpoint")
    celery_worker_process.kill()  # the worker dies mid-training: the row stays "running"
    celery_worker_process.wait()
    job.refresh_from_db()
    assert job.status == "running" and not (train_dir / "critic").exists()

    second = start_worker()
    try:
        job_dispatch(job=job)  # the broker's redelivery of the unacknowledged task
        job = _wait(lambda: Job.objects.filter(pk=job.pk, status__in=Job.FINISHED).first(), 300, "the re-run")
    finally:
        stop_worker(second)
    assert job.status == "succeeded", job.error
    assert job.attempts == 2 and job.result["resumed_from"] >= 2 and job.result["steps"] == 8

    # The same training without interruption, in this process: exact resume means the same losses. With the
    # first one active, the new one's evaluation measures the active critic on the same test rows too.
    resumed = version_promote(version=ModelVersion.objects.get(pk=job.result["critic_version"]))
    clean, _ = job_create(kind="train_critic", dispatch=False,
                          params={"snapshot": snapshot.pk, "backbone": str(tiny_critic_dir), "name": "clean", **HYPER})
    clean = job_run(job_id=clean.pk)
    assert clean.status == "succeeded", clean.error
    resumed_curve, clean_curve = job.metrics["loss_curve"], clean.metrics["loss_curve"]
    assert [step for step, _ in resumed_curve] == list(range(1, 9))
    assert [loss for _, loss in resumed_curve] == pytest.approx([loss for _, loss in clean_curve], abs=1e-5)
    assert [point["step"] for point in job.metrics["curves"]["val"]][-1] == 8
    # The log names every dimension's validation accuracy, so a dimension that lags shows while the job runs.
    assert re.search(r"step 8: val accuracy [\d.]+ \(semantic [\d.]+, motion [\d.]+, fidelity [\d.]+\), "
                     r"rating NLL [\d.]+", clean.log_tail), clean.log_tail
    measured = ModelVersion.objects.get(pk=clean.result["critic_version"]).metrics["active_on_this_split"]
    assert measured[str(resumed.pk)]["mean_accuracy"] == resumed.metrics["mean_accuracy"]

    version = ModelVersion.objects.get(pk=job.result["critic_version"])
    assert version.kind == "critic" and version.name == "resumed" and version.metrics["active_on_this_split"] == {}
    assert version.lineage["snapshot"] == snapshot.pk and version.lineage["backbone"] == str(tiny_critic_dir)
    assert version.lineage["hyperparameters"]["max_steps"] == 8 and version.lineage["hyperparameters"]["finetune"] == "lora"
    metrics = version.metrics
    assert set(metrics["accuracy"]) == {"semantic", "motion", "fidelity"}
    assert metrics["mean_accuracy"] == pytest.approx(sum(metrics["accuracy"].values()) / 3)
    assert metrics["test_split"]["snapshot"] == snapshot.pk and len(metrics["test_split"]["sha256"]) == 64
    for row in metrics["dimensions"].values():
        assert len(row["confusion"]) == 3 and sum(map(sum, row["confusion"])) == row["n"]
        assert {"macro_f1", "ece", "majority_accuracy", "agreement"} <= set(row)
        assert {"model_vs_annotator", "annotator_vs_annotator"} <= set(row["agreement"])
    artifacts = {a["name"]: a for a in job.artifacts}
    assert {"critic", "evaluation", "train_config"} <= set(artifacts)
    assert json.loads(Path(artifacts["evaluation"]["path"]).read_text())["mean_accuracy"] == metrics["mean_accuracy"]
    assert Path(version.config["critic_dir"]).is_dir()


def _break(snapshot, split, edit):
    path = Path(snapshot.folder_path) / "data" / f"{split}.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    path.write_text("".join(json.dumps(row) + "\n" for row in edit(rows)))


def _unknown_dimension(rows):
    rows[0]["aesthetics_rating"] = "Good"
    return rows


@pytest.mark.parametrize("split, edit, message", [
    ("test", lambda rows: [], "split 'test' of the snapshot is empty"),
    ("train", _unknown_dimension, "unknown dimension 'aesthetics'"),
    ("validation", lambda rows: [{**rows[0], "motion_rating": "Great"}], "Great"),
])
def test_a_bad_snapshot_is_refused_with_the_reason_before_any_job_exists(db, jobs_dir, split, edit, message):
    snapshot, _, _ = rated_snapshot(count=12)
    _break(snapshot, split, edit)
    admin = UserFactory(roles=["admin"])
    response = token_client(admin).post("/api/jobs/", {"kind": "train_critic", "params": {"snapshot": snapshot.pk}},
                                        format="json")
    assert response.status_code == 400, response.content
    assert message in response.json()["detail"]
    assert not Job.objects.exists() and not jobs_dir.exists()


def test_unready_snapshots_and_bad_hyperparameters_are_refused(db):
    pending = Snapshot.objects.create(number=41)
    with pytest.raises(ApplicationError, match="not ready"):
        job_create(kind="train_critic", params={"snapshot": pending.pk}, dispatch=False)
    with pytest.raises(ApplicationError, match="snapshot"):
        job_create(kind="train_critic", params={"snapshot": 999_999}, dispatch=False)
    for bad, message in [({"finetune": "half"}, "finetune"), ({"steps": 0}, "max_steps"), ({"lr": "fast"}, "lr"),
                         ({"ema_decay": 1.5}, "ema_decay"), ({"depth": 3}, "Unknown"),
                         ({"backbone": "/nowhere/critic"}, "not a directory")]:
        with pytest.raises(ApplicationError, match=message):
            job_create(kind="train_critic", params={"snapshot": pending.pk, **bad}, dispatch=False)
    assert not Job.objects.exists()
