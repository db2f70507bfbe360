"""A loop that fine-tunes before its objective (SFT before DPO, the recipe that worked in bench/RESULTS.md):
align.warm_up adds a uniform fine-tune on the candidates, the align stage trains on from the version it made
(dpo with it as the frozen reference), and "before" is measured on the active generator, so the promotion
rule compares the end of the chain with what it would replace."""
import pytest

from alignment.loop.params import loop_settings_validate
from alignment.models import Job, ModelVersion
from alignment.services.jobs import job_create, job_start
from lift.api_errors import ApplicationError
from tests.align.conftest import FAST_SETTINGS

HELDOUT = {"count": 1, "seed": 9, "seeds": [0]}


def test_a_warmed_up_loop_runs_dpo_from_the_fine_tune_and_compares_with_the_active_generator(
        models_dir, generator, critic, prompt_bank):
    from alignment.services.registry import version_promote
    from tests.loop.conftest import drive

    version_promote(version=generator)
    align = {"objective": "dpo", "settings": dict(FAST_SETTINGS, dpo_beta=250.0), "heldout": HELDOUT,
             "warm_up": {"steps": 2, "learning_rate": 3e-3}}
    loop, _ = job_create(kind="retrain_loop", dispatch=False, params={
        "stages": ["generate_candidates", "score", "align", "evaluate_generator"],
        "candidates": {"count": 2, "seed": 3, "seeds": [0, 1]}, "align": align})
    assert loop.params["stages"] == ["generate_candidates", "score", "warm_up", "align", "evaluate_generator"]
    job_start(job_id=loop.pk)
    loop = drive(loop.pk)
    assert loop.status == "succeeded", loop.error

    warm_job, dpo_job = Job.objects.filter(kind="align", parent=loop).order_by("pk")
    warm = warm_job.params
    assert warm["objective"] == "reward_weighted" and warm["settings"]["weighting"] == "uniform"
    assert warm["settings"]["steps"] == 2 and warm["settings"]["learning_rate"] == 3e-3
    assert warm["settings"]["lora_rank"] == FAST_SETTINGS["lora_rank"]  # inherited, so DPO can train on from it
    assert warm["settings"]["real_weight"] == 0.0 and warm["real"] == []  # no real corpus named: candidates alone
    assert warm["settings"]["dpo_reference"] == "base" and "baseline_version" not in warm
    warmed = ModelVersion.objects.get(pk=warm_job.result["version_id"])
    assert loop.result["warm_up_version"] == warmed.pk

    dpo = dpo_job.params
    assert dpo["objective"] == "dpo" and dpo["generator_version"] == warmed.pk
    assert dpo["settings"]["dpo_reference"] == "start" and dpo["settings"]["dpo_beta"] == 250.0
    assert dpo["settings"]["lora_init"] == warmed.adapter_path
    assert dpo["baseline_version"] == generator.pk and "warm_up" not in dpo
    final = ModelVersion.objects.get(pk=dpo_job.result["version_id"])
    assert final.parent_id == warmed.pk and final.lineage["baseline"] == generator.pk
    # Both jobs measured "before" on the active generator's held-out videos, so the figures are the same.
    assert final.metrics["heldout_baseline_version"] == generator.pk
    assert final.metrics["heldout_reward_before"] == warmed.metrics["heldout_reward_before"]
    assert final.metrics["heldout_before"]["count"] == warmed.metrics["heldout_before"]["count"] == 1


def test_the_warm_up_stage_follows_the_align_stage_and_its_settings(db, generator):
    def stages(**settings):
        return loop_settings_validate(settings)["stages"]

    warm = {"objective": "dpo", "warm_up": {"steps": 300}}
    assert "warm_up" in stages(align=warm, candidates={"seeds": [0, 1]})  # the default stages
    assert "warm_up" not in stages(align={"objective": "dpo"}, candidates={"seeds": [0, 1]})
    # Listed or not, it runs exactly when align runs with a warm-up (a stored policy stays consistent).
    assert stages(stages=["generate_candidates", "warm_up", "align"], align={"objective": "reward_weighted"}) == \
        ["generate_candidates", "align"]
    assert stages(stages=["generate_candidates", "align"], align=warm, candidates={"seeds": [0, 1]}) == \
        ["generate_candidates", "warm_up", "align"]
    assert stages(stages=["snapshot", "generate_candidates"], align=warm, candidates={"seeds": [0, 1]}) == \
        ["snapshot", "generate_candidates"]
    with pytest.raises(ApplicationError, match="Stage warm_up needs generate_candidates"):
        stages(stages=["snapshot", "align"], align={**warm, "pairs": "snapshot"})
    for bad, message in (([300], "must be an object"), ({}, "must be an object"),
                         ({"weighting": "softmax"}, "leave weighting out")):
        with pytest.raises(ApplicationError, match=message):
            stages(align={"objective": "dpo", "warm_up": bad}, candidates={"seeds": [0, 1]})


def test_a_baseline_that_is_not_a_generator_is_refused(db, generator, critic, real_clips, prompt_bank):
    from tests.align.conftest import align_params

    for bad in (critic.pk, 10**9, "1", True):
        with pytest.raises(ApplicationError, match="baseline_version must name a generator version"):
            job_create(kind="align", dispatch=False,
                       params=align_params(generator, critic, real_clips, baseline_version=bad))
    assert not Job.objects.filter(kind="align").exists()
