"""The align job end to end: candidates generated and scored by the critic, LoRA training with the real
corpus, a new generator version with lineage and held-out metrics; resumable after a killed worker."""
import json
import time
from pathlib import Path

import numpy as np
import pytest

from alignment.models import Job, ModelVersion
from alignment.services.jobs import ProgressReporter, job_create, job_run
from annotation.models import Video
from tests.align.conftest import TINY_GENERATOR, align_params
from tests.conftest import token_client
from tests.factories import UserFactory


@pytest.fixture
def worker(transactional_db, settings, models_dir):
    """A real Celery worker started after MODELS_DIR is set, so it writes where the test looks."""
    import redis

    from tests.conftest import start_worker, stop_worker

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    proc = start_worker()
    yield proc
    stop_worker(proc)


def _wait(job_id, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.status in Job.FINISHED:
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} still {Job.objects.get(pk=job_id).status} ({Job.objects.get(pk=job_id).phase})")


def _frames(pipe, seed=0):
    import torch

    return pipe(prompt="one red circle", num_frames=9, height=32, width=32, num_inference_steps=2, guidance_scale=1.0,
                max_sequence_length=16, generator=torch.Generator().manual_seed(seed), output_type="np").frames


@pytest.mark.django_db(transaction=True)
def test_an_admin_aligns_through_a_worker_and_gets_a_measured_promotable_version(
        worker, generator, critic, real_clips, prompt_bank):
    admin = token_client(UserFactory(roles=["admin"]))
    params = align_params(generator, critic, real_clips, candidates={"generate": {"count": 1, "seeds": [0, 1], "seed": 3}})
    response = admin.post("/api/jobs/", {"kind": "align", "params": params}, format="json")
    assert response.status_code == 201, response.json()
    job = _wait(response.json()["id"])
    assert job.status == "succeeded", job.error + "".join(worker.output_lines[-40:])

    # The run's curves and files are on the job row.
    curves = job.metrics["curves"]
    assert [step for step, _ in curves["loss"]] == [1, 2, 3, 4] and all(np.isfinite(v) for _, v in curves["loss"])
    assert [step for step, _ in curves["reward"]] == [0, 2, 4]
    kinds = {a["name"]: a["kind"] for a in job.artifacts}
    assert kinds["lora"] == "adapter" and kinds["checkpoint-4"] == "checkpoint" and "validation.json" in kinds
    assert job.stages.filter(kind="generate", status="succeeded").count() == 3  # candidates, before, after

    # The new version: parent, adapter, lineage and held-out metrics before and after.
    version = ModelVersion.objects.get(pk=job.result["version_id"])
    assert version.kind == "generator" and version.parent == generator and version.base == generator.base
    assert version.created_by_job_id == job.pk and not version.is_active
    lineage = version.lineage
    assert (lineage["base"], lineage["critic"], lineage["objective"], lineage["job"]) == (
        generator.pk, critic.pk, "reward_weighted", job.pk)
    assert lineage["data"] == {"candidates": 2, "trained_on": 2, "human_rated": 0, "critic_rated": 2, "real": 3}
    assert lineage["settings"]["lora_rank"] == 4 and lineage["settings"]["steps"] == 4
    metrics = version.metrics
    for side in ("heldout_before", "heldout_after"):
        assert set(metrics[side]["dimensions"]) == {"semantic", "motion", "fidelity"}
        assert sum(metrics[side]["dimensions"]["motion"]["ratings"].values()) == 1  # 1 prompt × 1 seed
        assert set(metrics[side]["video_stats"]) >= {"flicker", "interpolation_error", "brightness_drift",
                                                     "contrast_drift"}
    # The held-out "after" videos close the reward curve; the engine did not generate them a second time.
    assert curves["reward"][-1][1] == metrics["heldout_reward_after"]
    assert metrics["training"]["validation"][-1] == {"step": 4, "mean_reward": metrics["heldout_reward_after"]}
    engine_curve = json.loads(Path(next(a["path"] for a in job.artifacts if a["name"] == "validation.json")).read_text())
    assert [entry["step"] for entry in engine_curve] == [0, 2]
    assert metrics["heldout_reward_change"] == pytest.approx(
        metrics["heldout_reward_after"] - metrics["heldout_reward_before"])
    assert metrics["heldout_change"]["video_stats"]["flicker"] == pytest.approx(
        metrics["heldout_after"]["video_stats"]["flicker"] - metrics["heldout_before"]["video_stats"]["flicker"])
    # The "after" videos were made by the new version through the generation service (base + LoRA).
    after_videos = Video.objects.filter(pk__in=metrics["heldout_after"]["videos"])
    assert {v.generator for v in after_videos} == {f"generator:{version.pk}"}

    # The LoRA loads in a stock pipeline and changes what it makes.
    from diffusers import CogVideoXPipeline

    pipe = CogVideoXPipeline.from_pretrained(generator.base)
    before = _frames(pipe)
    pipe.load_lora_weights(version.adapter_path)
    assert not np.allclose(before, _frames(pipe))

    # Promotion follows the registry's rule: improved → promoted; not improved → refused unless forced.
    improved = metrics["heldout_reward_after"] > metrics["heldout_reward_before"]
    promote = admin.post(f"/api/models/{version.pk}/promote/", {}, format="json")
    if not improved:
        assert promote.status_code == 409 and "did not improve" in promote.json()["detail"]
        promote = admin.post(f"/api/models/{version.pk}/promote/", {"force": True, "reason": "look at the videos"},
                             format="json")
    assert promote.status_code == 200 and promote.json()["is_active"]


class Killed(Exception):
    """Stands for the worker dying: nothing after it runs, the job row stays `running`."""


def test_a_rerun_after_a_killed_worker_resumes_full_fine_tuning_from_the_checkpoint(
        models_dir, generator, critic, real_clips, prompt_bank):
    """Full fine-tuning here (the worker test trains a LoRA): checkpoints hold the whole transformer, and the
    new version is a pipeline folder with the trained transformer that the generation service loads."""
    from alignment.services.aligning import align_output_dir, align_run
    from alignment.services.jobs import job_start

    params = align_params(generator, critic, real_clips, candidates={"generate": {"count": 1, "seeds": [0, 1], "seed": 3}})
    params["settings"].update(lora_rank=None, learning_rate=1e-3)
    job, _ = job_create(kind="align", params=params, dispatch=False)
    job = job_start(job_id=job.pk)
    reporter = ProgressReporter(job_id=job.pk)

    def dies_at_step_3(**kwargs):
        if (kwargs.get("phase") or "").startswith("training step 3"):
            raise Killed()
        return reporter(**kwargs)

    with pytest.raises(Killed):
        align_run(job=job, report=dies_at_step_3)
    out = align_output_dir(job=job)
    assert [p.name for p in sorted(out.glob("checkpoint-*"))] == ["checkpoint-2"]
    assert Job.objects.get(pk=job.pk).status == "running"
    drawn = Job.objects.get(pk=job.pk).metrics["candidate_prompt_ids"]

    phases = []

    def recording(**kwargs):
        phases.append(kwargs.get("phase") or "")
        return reporter(**kwargs)

    job = job_start(job_id=job.pk)  # the redelivered task
    result = align_run(job=job, report=recording)
    trained = [p for p in phases if p.startswith("training step")]
    assert trained == ["training step 3", "training step 4"]  # steps 1–2 came from checkpoint-2
    assert any(p.startswith("resumed") for p in phases)
    job = Job.objects.get(pk=job.pk)
    assert job.metrics["candidate_prompt_ids"] == drawn  # the same candidates, not a new draw
    assert [step for step, _ in job.metrics["curves"]["loss"]] == [1, 2, 3, 4]
    assert Video.objects.filter(generator=f"generator:{generator.pk}").count() == 2 + 1  # nothing generated twice
    version = ModelVersion.objects.get(pk=result["version_id"])
    assert version.lineage["job"] == job.pk and version.adapter_path == ""
    assert (Path(version.base) / "transformer").resolve() == (out / "final" / "transformer").resolve()
    after = Video.objects.filter(pk__in=version.metrics["heldout_after"]["videos"])
    assert after.count() == 1 and after.get().generator == f"generator:{version.pk}"


def test_out_of_gpu_memory_fails_the_job_naming_what_lowers_memory(models_dir, generator, critic, real_clips,
                                                                  prompt_bank, monkeypatch):
    import torch

    import alignment.engine.align.trainer as trainer

    def out_of_memory(self):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(trainer.AlignTrainer, "_prepare_models", out_of_memory)
    params = align_params(generator, critic, real_clips, candidates={"generate": {"count": 1, "seeds": [0], "seed": 3}})
    job, _ = job_create(kind="align", params=params, dispatch=False)
    job = job_run(job_id=job.pk)
    assert job.status == "failed"
    for option in ("LoRA", "gradient_checkpointing", "batch_size", "CPU offload", "vae_tiling"):
        assert option in job.error
    assert not ModelVersion.objects.filter(parent=generator).exists()


@pytest.mark.parametrize("processes", ["1", "2"])
def test_a_dpo_job_aligns_on_pairs_of_its_own_candidates_ranked_by_the_critic(
        processes, settings, models_dir, generator, critic, real_clips, prompt_bank):
    settings.LIFT = {**settings.LIFT, "TRAIN_PROCESSES": processes}
    params = align_params(generator, critic, real_clips, objective="dpo",
                          candidates={"generate": {"count": 2, "seeds": [0, 1, 2], "seed": 3}})
    job, _ = job_create(kind="align", params=params, dispatch=False)
    assert job.params["real"] == []  # the reference model is dpo's regulariser, not the real corpus
    job = job_run(job_id=job.pk)
    assert job.status == "succeeded", job.error
    curves = job.metrics["curves"]
    assert [step for step, _ in curves["loss"]] == [step for step, _ in curves["preference_accuracy"]] == [1, 2, 3, 4]
    assert all(0 <= share <= 1 for _, share in curves["preference_accuracy"])
    version = ModelVersion.objects.get(pk=job.result["version_id"])
    data = version.lineage["data"]
    assert version.lineage["objective"] == "dpo" and data["candidates"] == 6
    assert data["pairs"] == 2 and data["trained_on"] == 4 and data["real"] == 0  # one best-vs-worst pair per prompt
    assert version.adapter_path and version.metrics["heldout_reward_after"] is not None
