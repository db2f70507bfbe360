"""Generate jobs filling a pairwise campaign: pairs of seeds of one prompt, or one prompt and seed made by
two generator versions; checked before anything runs, and a re-run adds no pair twice."""
import pytest

from alignment.models import Job
from alignment.services.jobs import job_create, job_run
from alignment.services.registry import version_register
from annotation.models import CampaignItem, Video
from annotation.services.campaigns import campaign_create
from lift.api_errors import ApplicationError
from tests.factories import CampaignFactory
from tests.generation.conftest import SYNTHETIC_CONFIG


@pytest.fixture
def pair_campaign(db):
    return campaign_create(name="pairs from generation", kind="pairwise")


@pytest.fixture
def second_version(db):
    return version_register(kind="generator", name="synthetic world, second", base="synthetic://world",
                            config={**SYNTHETIC_CONFIG, "steps": 2})


def _generate(params):
    job, created = job_create(kind="generate", dispatch=False, params=params)
    return job_run(job_id=job.pk)


def _pairs(campaign):
    return sorted(CampaignItem.objects.filter(campaign=campaign).values_list("video_id", "video_b_id"))


def test_pairs_of_seeds_of_each_prompt(synthetic_version, world_prompts, pair_campaign):
    params = {"generator_version": synthetic_version.pk, "prompt_ids": [p.pk for p in world_prompts[:2]],
              "seeds": [0, 1, 2], "campaign": pair_campaign.pk}
    job = _generate(params)
    assert job.status == "succeeded", job.error
    assert job.result["generated"] == 6 and len(job.result["pairs"]) == 6  # 3 pairs of seeds x 2 prompts
    pairs = _pairs(pair_campaign)
    assert sorted(map(tuple, job.result["pairs"])) == pairs
    for a, b in pairs:
        video_a, video_b = Video.objects.get(pk=a), Video.objects.get(pk=b)
        assert video_a.prompt_id == video_b.prompt_id and video_a.seed < video_b.seed
    again = _generate(params)  # a re-run reuses every video and adds no pair twice
    assert again.result["generated"] == 0 and _pairs(pair_campaign) == pairs


def test_the_same_prompts_and_seeds_on_two_versions(synthetic_version, second_version, world_prompts, pair_campaign):
    job = _generate({"generator_version": synthetic_version.pk, "compare_version": second_version.pk,
                     "prompt_ids": [p.pk for p in world_prompts[:2]], "seeds": [0], "campaign": pair_campaign.pk})
    assert job.status == "succeeded", job.error
    assert job.result["generated"] == 4
    pairs = _pairs(pair_campaign)
    assert len(pairs) == 2
    for a, b in pairs:
        video_a, video_b = Video.objects.get(pk=a), Video.objects.get(pk=b)
        assert (video_a.generator, video_b.generator) == (f"generator:{synthetic_version.pk}",
                                                          f"generator:{second_version.pk}")
        assert (video_a.prompt_id, video_a.seed) == (video_b.prompt_id, video_b.seed)


def test_a_rating_campaign_is_filled_as_before(synthetic_version, world_prompts):
    campaign = CampaignFactory()
    job = _generate({"generator_version": synthetic_version.pk, "prompt_ids": [world_prompts[0].pk],
                     "seeds": [0, 1], "campaign": campaign.pk})
    assert "pairs" not in job.result
    assert CampaignItem.objects.filter(campaign=campaign, video_b__isnull=True).count() == 2


def test_pairing_requests_that_cannot_be_met_are_refused_before_any_job(synthetic_version, second_version,
                                                                         world_prompts, pair_campaign):
    base = {"generator_version": synthetic_version.pk, "prompt_ids": [world_prompts[0].pk]}
    for params, field in [
        ({**base, "seeds": [0], "campaign": pair_campaign.pk}, "seeds"),  # one seed, nothing to pair
        ({**base, "seeds": [0], "compare_version": synthetic_version.pk, "campaign": pair_campaign.pk},
         "compare_version"),  # the same version
        ({**base, "seeds": [0], "compare_version": 10**6, "campaign": pair_campaign.pk}, "compare_version"),
    ]:
        with pytest.raises(ApplicationError) as refused:
            job_create(kind="generate", dispatch=False, params=params)
        assert field in refused.value.fields, params
    assert Job.objects.count() == 0
