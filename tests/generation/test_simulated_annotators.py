"""Simulated annotators drive the real HTTP API and answer from the synthetic world's truth."""
import pytest
from django.core.management import call_command

from alignment.services.jobs import job_create, job_run
from annotation.models import Annotation, Video
from tests.factories import CampaignFactory


@pytest.mark.django_db(transaction=True)
def test_noise_free_annotators_reproduce_the_truth_over_http(live_server, synthetic_version, world_prompts):
    campaign = CampaignFactory(overlap=2)
    job, _ = job_create(kind="generate", dispatch=False, params={
        "generator_version": synthetic_version.pk, "prompt_ids": [p.pk for p in world_prompts[:3]], "seeds": [0, 1],
        "campaign": campaign.pk})
    assert job_run(job_id=job.pk).status == "succeeded"
    call_command("simulate_annotators", campaign=campaign.pk, annotators=3, base_url=live_server.url, noise=0.0)
    annotations = list(Annotation.objects.filter(campaign=campaign).select_related("item__video"))
    assert len(annotations) == 6 * 2  # every video rated by exactly `overlap` annotators
    for annotation in annotations:
        truth = annotation.item.video.generation_params["synthetic_truth"]["judgements"]
        assert {d: r["rating"] for d, r in annotation.ratings.items()} == {d: t["rating"] for d, t in truth.items()}


@pytest.mark.django_db(transaction=True)
def test_spammers_answer_the_same_reason_everywhere(live_server, synthetic_version, world_prompts):
    campaign = CampaignFactory(overlap=1)
    job, _ = job_create(kind="generate", dispatch=False, params={
        "generator_version": synthetic_version.pk, "prompt_ids": [p.pk for p in world_prompts], "seeds": [0],
        "campaign": campaign.pk})
    job_run(job_id=job.pk)
    call_command("simulate_annotators", campaign=campaign.pk, annotators=1, spammers=1, base_url=live_server.url)
    reasons = {r["rationale"] for a in Annotation.objects.all() for r in a.ratings.values()}
    assert reasons == {"ok"} and Annotation.objects.count() == Video.objects.count()
