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
def test_noisy_labels_do_not_depend_on_how_many_annotators_share_the_work(live_server, synthetic_version,
                                                                           world_prompts):
    # The noise is drawn per video, so three threads leasing in whatever order give the labels one gives.
    from annotation.services.campaigns import campaign_add_videos

    job, _ = job_create(kind="generate", dispatch=False, params={
        "generator_version": synthetic_version.pk, "prompt_ids": [p.pk for p in world_prompts], "seeds": [0, 1]})
    video_ids = job_run(job_id=job.pk).result["video_ids"]
    labels = []
    for annotators in (1, 3):
        campaign = CampaignFactory(overlap=1)
        campaign_add_videos(campaign=campaign, video_ids=video_ids)
        call_command("simulate_annotators", campaign=campaign.pk, annotators=annotators, base_url=live_server.url,
                     noise=0.5, seed=7)
        labels.append({a.item.video_id: {d: r["rating"] for d, r in a.ratings.items()}
                       for a in Annotation.objects.filter(campaign=campaign).select_related("item")})
    truth = {v.pk: {d: t["rating"] for d, t in v.generation_params["synthetic_truth"]["judgements"].items()}
             for v in Video.objects.filter(pk__in=video_ids)}
    assert len(labels[0]) == len(video_ids) and labels[0] == labels[1]
    assert labels[0] != truth  # the noise is there (half the answers are drawn at random)


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


@pytest.mark.django_db(transaction=True)
def test_simulated_annotators_compare_pairs_and_a_left_leaning_one_is_flagged(live_server, synthetic_version,
                                                                              world_prompts):
    from annotation.quality.report import campaign_annotator_figures
    from annotation.schema import RATING_LEVELS
    from annotation.services.campaigns import campaign_create

    campaign = campaign_create(name="simulated pairs", kind="pairwise", overlap=2)
    job, _ = job_create(kind="generate", dispatch=False, params={
        "generator_version": synthetic_version.pk, "prompt_ids": [p.pk for p in world_prompts], "seeds": [0, 1, 2],
        "campaign": campaign.pk})
    assert job_run(job_id=job.pk).status == "succeeded"
    call_command("simulate_annotators", campaign=campaign.pk, annotators=2, left_leaning=1, base_url=live_server.url,
                 noise=0.0)
    annotations = list(Annotation.objects.filter(campaign=campaign).select_related(
        "annotator", "item__video", "item__video_b", "assignment"))
    assert len(annotations) == 12 * 2  # every pair (3 of each prompt's seeds) by both
    for annotation in annotations:
        if annotation.annotator.username.endswith("-0"):  # the left-leaning one
            continue
        truth = [v.generation_params["synthetic_truth"]["judgements"] for v in (annotation.item.video,
                                                                                 annotation.item.video_b)]
        for dim, entry in annotation.ratings.items():
            rank_a, rank_b = (RATING_LEVELS.index(t[dim]["rating"]) for t in truth)
            assert entry["choice"] == ("A" if rank_a < rank_b else "B" if rank_b < rank_a else "tie")
    # The left-leaning one: 36 of 36 choices for the left video. (Whether the honest one's share strays is
    # left to chance, the order being drawn per lease; tests/pairs checks a fair annotator on fixed orders.)
    leaning = {f["username"]: f for f in campaign_annotator_figures(campaign=campaign)}[f"sim-{campaign.pk}-0"]
    assert leaning["position_bias"]["left_share"] == 1.0 and leaning["flags"]["position_bias"] == 0.5
