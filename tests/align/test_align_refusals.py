"""Align requests the job could not honour are refused at POST /api/jobs/ with the reason, before any job row
or GPU work exists."""
import json

import pytest

from alignment.models import Job
from annotation.models import Prompt
from tests.align.conftest import align_params
from tests.conftest import token_client
from tests.factories import UserFactory


@pytest.fixture
def admin(db):
    return token_client(UserFactory(roles=["admin"]))


def _refused(admin, params, status=400):
    prompts = Prompt.objects.count()
    response = admin.post("/api/jobs/", {"kind": "align", "params": params}, format="json")
    assert response.status_code == status, response.content
    body = response.json()
    assert body["detail"] and body["code"]
    assert Job.objects.count() == 0 and Prompt.objects.count() == prompts  # nothing written, nothing drawn
    return body


def _lora_for_a_wider_model(tmp_path):
    from diffusers import CogVideoXTransformer3DModel

    from alignment.engine.tiny import build_tiny_cogvideox, build_tiny_cogvideox_lora

    other = build_tiny_cogvideox(tmp_path / "other")
    config = json.loads((other / "transformer" / "config.json").read_text())
    config.update(num_attention_heads=2)  # width 2×8 = 16 instead of 32
    CogVideoXTransformer3DModel(**{k: v for k, v in config.items() if not k.startswith("_")}).save_pretrained(
        other / "transformer")
    return build_tiny_cogvideox_lora(other, tmp_path / "other-lora")


def test_unknown_and_untrainable_generators_are_refused(admin, generator, critic, real_clips):
    from alignment.services.registry import version_register

    assert "generator_version" in _refused(admin, align_params(generator, critic, real_clips,
                                                               generator_version=99_999))["fields"]
    world = version_register(kind="generator", name="world", base="synthetic://world", config={"frames": 8})
    body = _refused(admin, align_params(world, critic, real_clips))
    assert "synthetic" in body["detail"] and "CogVideoX" in body["detail"]
    assert "critic" in _refused(admin, align_params(generator, critic, real_clips, critic_version=99_999))["fields"]


def test_a_lora_made_for_another_base_is_refused(admin, generator, critic, real_clips, tmp_path):
    from alignment.services.registry import version_register

    mismatched = version_register(kind="generator", name="tiny + foreign lora", base=generator.base,
                                  config=generator.config, adapter_path=str(_lora_for_a_wider_model(tmp_path)))
    assert "another base" in _refused(admin, align_params(mismatched, critic, real_clips))["detail"]


def test_a_critic_with_other_dimensions_is_refused(admin, generator, critic, real_clips, tiny_critic_dir):
    from alignment.services.registry import version_register

    generator.lineage = {"critic_dimensions": ["semantic", "motion", "fidelity"]}
    generator.save(update_fields=["lineage"])
    narrow = version_register(kind="critic", name="semantic only", base=str(tiny_critic_dir),
                              config={"dimensions": ["semantic"]})
    body = _refused(admin, align_params(generator, narrow, real_clips))
    assert body["code"] == "incompatible_critic" and "would not compare" in body["detail"]



def test_a_critic_that_rates_other_dimensions_than_the_snapshot_is_refused(admin, generator, real_clips,
                                                                          tiny_critic_dir):
    from alignment.services.registry import version_register
    from annotation.snapshots.services import snapshot_build, snapshot_create
    from tests.snapshots.util import rated_campaign

    campaign, *_ = rated_campaign(n_videos=2, n_annotators=2)
    snapshot = snapshot_build(snapshot=snapshot_create(params={"filters": {"campaign_ids": [campaign.pk]}}))
    two_dims = version_register(kind="critic", name="two dimensions", base=str(tiny_critic_dir),
                                config={"dimensions": ["semantic", "motion"]})
    body = _refused(admin, align_params(generator, two_dims, real_clips, snapshot=snapshot.pk))
    assert body["code"] == "incompatible_critic" and f"snapshot {snapshot.number}" in body["detail"]

def test_candidates_without_any_score_are_refused(admin, generator, critic, real_clips):
    params = align_params(generator, critic, real_clips, candidates={"video_ids": [v.pk for v in real_clips]},
                          real={}, settings={"real_weight": 0.0})
    body = _refused(admin, params)
    assert body["code"] == "no_scored_data" and "score them first" in body["detail"]


def test_an_empty_real_corpus_with_positive_weight_is_refused(admin, generator, critic, real_clips):
    body = _refused(admin, align_params(generator, critic, real_clips, real={}))
    assert body["code"] == "empty_real_corpus" and "real_weight" in body["detail"]
    # The same request without the real term is accepted (and queued).
    accepted = admin.post("/api/jobs/", {"kind": "align", "params": align_params(
        generator, critic, real_clips, real={}, settings={"real_weight": 0.0, "steps": 2})}, format="json")
    assert accepted.status_code == 201, accepted.json()


@pytest.mark.parametrize("changes, message", [
    ({"frames": 10}, "8k+1"),
    ({"height": 40}, "multiples of 16"),
    ({"max_sequence_length": 226}, "max_sequence_length"),
    ({"lora_rank": 0}, "lora_rank"),
    ({"output_dir": "/tmp/elsewhere"}, "the job sets itself"),
    ({"learning_rate": -1}, "learning_rate"),
    ({"unknown_knob": 1}, "unknown"),
])
def test_settings_the_model_or_trainer_cannot_take_are_refused(admin, generator, critic, real_clips, changes, message):
    params = align_params(generator, critic, real_clips)
    params["settings"].update(changes)
    assert message in _refused(admin, params)["detail"]


def test_per_prompt_weighting_is_refused_outside_reward_weighted(admin, generator, critic, real_clips):
    params = align_params(generator, critic, real_clips, objective="rejection")
    params["settings"]["per_prompt"] = True
    assert "per_prompt applies to reward_weighted only" in _refused(admin, params)["detail"]


def test_objective_specific_inputs_are_refused(admin, generator, critic, real_clips):
    edit = align_params(generator, critic, real_clips, objective="edit_reward")
    assert "reward_model" in _refused(admin, edit)["detail"]
    edit["reward_model"] = "synthetic_colour"
    assert "synthetic_colour" in _refused(admin, edit)["detail"]  # prompt-bank draws are not synthetic-world prompts
    assert "objective" in _refused(admin, align_params(generator, critic, real_clips, objective="sft"))["detail"]
    # dpo pairs each prompt's best and worst candidate: one seed (or one video per prompt) makes no pair, and its
    # reference is the base with the adapter disabled, so it needs LoRA. Refused up front, not failed later.
    one_seed = align_params(generator, critic, real_clips, objective="dpo",
                            candidates={"generate": {"count": 2, "seeds": [0], "seed": 3}})
    assert _refused(admin, one_seed)["fields"]["candidates"] == "one seed"
    one_each = align_params(generator, critic, real_clips, objective="dpo", candidates={"video_ids": [real_clips[0].pk]})
    assert _refused(admin, one_each)["fields"]["candidates"] == "no pairs"
    full = align_params(generator, critic, real_clips, objective="dpo")
    full["settings"]["lora_rank"] = None
    assert "LoRA" in _refused(admin, full)["detail"]
    assert "heldout" in _refused(admin, align_params(generator, critic, real_clips, heldout=None))["fields"]
    same_draw = align_params(generator, critic, real_clips, heldout={"count": 1, "seed": 3})  # the candidates' seed
    assert "held out means unseen" in _refused(admin, same_draw)["detail"]


@pytest.mark.django_db(transaction=True)
def test_the_checks_run_in_a_web_process_without_torch(generator, critic, real_clips, prompt_bank):
    """The API validates align requests in the web process, which must never import torch."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT, _test_database_url

    code = ("import django, json, sys; django.setup();"
            "from alignment.services.align_params import align_params_validate;"
            "clean = align_params_validate(params=json.loads(sys.argv[1]));"
            "loaded = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules];"
            "print(json.dumps({'loaded': loaded, 'frames': clean['settings']['frames']}))")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "lift.settings.test", "DATABASE_URL": _test_database_url()}
    result = subprocess.run([sys.executable, "-c", code, json.dumps(align_params(generator, critic, real_clips))],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.splitlines()[-1]) == {"loaded": [], "frames": 9}
