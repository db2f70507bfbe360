"""One job fills a campaign from the prompt bank: the draw is checked first, every video knows what made it."""
import json

import pytest
from django.core.management import CommandError, call_command

from alignment.models import Job
from annotation.models import CampaignItem, Prompt, Video
from annotation.services.prompts import prompt_category_create
from tests.conftest import token_client
from tests.factories import CampaignFactory, UserFactory
from tests.generation.test_generate_job import _wait

WORLD_CATEGORIES = {"world shapes": ("subject", ["a red circle", "two blue squares", "three yellow triangles"]),
                    "world motions": ("action", ["moving left", "bouncing", "spinning"]),
                    "world scenes": ("place", ["on a grey floor", "on grass", "in a dark room"])}


def _assert_full_provenance(video, *, version, job, combine):
    params = video.generation_params
    assert video.prompt.source == "combined" and video.generator == f"generator:{version.pk}"
    assert params["prompt_text"] == video.prompt.text and params["caption"] == video.prompt.caption
    assert params["combination_seed"] == video.prompt.combination_seed is not None
    assert params["prompt_categories"] == video.prompt.categories and params["combine"] == combine
    assert params["generator_version"] == {"id": version.pk, "name": version.name, "base": version.base,
                                           "adapter": None}
    assert params["job"] == job.pk and params["expander"] == "template"
    assert params["spec"]["frames"] == video.frames and params["spec"]["steps"] >= 1
    assert video.seed is not None and len(video.generation_key) == 64 and len(video.sha256) == 64


@pytest.mark.django_db(transaction=True)
def test_an_admin_fills_a_campaign_from_the_bank_with_one_api_job(celery_worker_process, tiny_version):
    admin = token_client(UserFactory(roles=["admin"]))
    campaign = CampaignFactory()
    request = {"kind": "generate", "params": {"generator_version": tiny_version.pk, "seeds": [0, 1],
                                              "campaign": campaign.pk, "combine": {"count": 2, "seed": 42}}}
    created = admin.post("/api/jobs/", request, format="json")
    assert created.status_code == 201, created.json()
    params = created.json()["params"]
    assert params["combine"] == {"count": 2, "seed": 42, "categories": []} and len(params["prompt_ids"]) == 2
    # The same request draws the same prompts, so it finds the job it started instead of a second one.
    again = admin.post("/api/jobs/", request, format="json")
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    assert Prompt.objects.count() == 2

    job = _wait(created.json()["id"], Job.FINISHED, timeout=240)
    assert job.status == "succeeded", job.error + "".join(celery_worker_process.output_lines[-30:])
    assert job.result["generated"] == 4
    videos = Video.objects.filter(pk__in=job.result["video_ids"]).select_related("prompt")
    assert CampaignItem.objects.filter(campaign=campaign, video__in=videos).count() == 4
    assert {(v.prompt_id, v.seed) for v in videos} == {(p, s) for p in params["prompt_ids"] for s in (0, 1)}
    for video in videos:
        _assert_full_provenance(video, version=tiny_version, job=job, combine=params["combine"])


def test_a_bad_draw_or_a_bad_request_is_refused_before_anything_is_drawn_or_queued(synthetic_version, tiny_version):
    admin = token_client(UserFactory(roles=["admin"]))
    base = {"generator_version": synthetic_version.pk, "seeds": [0]}
    refused = {
        "unknown category": {**base, "combine": {"count": 2, "seed": 1, "categories": ["weather"]}},
        "count zero": {**base, "combine": {"count": 0, "seed": 1}},
        "seed not a number": {**base, "combine": {"count": 2, "seed": "x"}},
        "no seed to record": {**base, "combine": {"count": 2}},
        "unknown key": {**base, "combine": {"count": 2, "seed": 1, "colour": "red"}},
        "neither prompts nor draw": base,
        "unknown campaign": {**base, "campaign": 999999, "combine": {"count": 2, "seed": 1}},
        "frames the model cannot take": {"generator_version": tiny_version.pk, "seeds": [0],
                                         "overrides": {"frames": 10}, "combine": {"count": 2, "seed": 1}},
        "bad expander": {**base, "expander": {"id_or_path": "x", "beams": 2}, "combine": {"count": 2, "seed": 1}},
    }
    for reason, params in refused.items():
        response = admin.post("/api/jobs/", {"kind": "generate", "params": params}, format="json")
        assert response.status_code == 400, (reason, response.json())
        assert response.json()["detail"], reason
    assert Prompt.objects.count() == 0 and Job.objects.count() == 0


def test_run_job_draws_from_the_bank_and_fills_the_campaign_in_the_foreground(synthetic_version):
    for name, (role, items) in WORLD_CATEGORIES.items():
        prompt_category_create(name=name, role=role, items=items)
    campaign = CampaignFactory()
    combine = {"count": 3, "seed": 7, "categories": sorted(WORLD_CATEGORIES)}
    call_command("run_job", "generate", "--params", json.dumps({
        "generator_version": synthetic_version.pk, "seeds": [0], "campaign": campaign.pk, "combine": combine}))
    job = Job.objects.get()
    assert job.status == "succeeded" and job.result["generated"] == 3
    assert CampaignItem.objects.filter(campaign=campaign).count() == 3
    for video in Video.objects.select_related("prompt"):
        _assert_full_provenance(video, version=synthetic_version, job=job, combine=combine)
        assert set(video.prompt.categories["subject"]) == {"world shapes"}
        truth = video.generation_params["synthetic_truth"]["spec"]  # the world rendered the drawn phrase
        assert truth["motion"] in video.prompt.text and truth["scene"] in video.prompt.text
    with pytest.raises(CommandError, match="categories"):
        call_command("run_job", "generate", "--params", json.dumps({
            "generator_version": synthetic_version.pk, "combine": {"count": 1, "seed": 1, "categories": ["nope"]}}))
