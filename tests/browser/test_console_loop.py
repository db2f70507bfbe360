"""The whole retrain loop from the console: an admin launches it on the tiny models and the synthetic
world, watches every stage run on a real worker to the end, and finds the new versions under Models."""
import json

import pytest
from playwright.sync_api import expect

from alignment.models import Job, ModelVersion
from tests.align.conftest import TINY_GENERATOR
from tests.critic.conftest import jobs_dir, tiny_critic_dir, truth_ratings, world_videos  # noqa: F401 (fixtures)
from tests.engine.conftest import tiny_cogvideox_dir  # noqa: F401 (a fixture)
from tests.factories import CampaignFactory, ItemFactory, UserFactory, add_member
from tests.quality.util import annotate

from .conftest import sign_in

pytestmark = pytest.mark.browser

CRITIC = {"steps": 6, "batch_size": 4, "eval_every": 3, "checkpoint_every": 3}
ALIGN = {"settings": {"steps": 2, "batch_size": 2, "lora_rank": 4, "learning_rate": 1e-2, "checkpoint_every": 2,
                      "validation_every": 2, "real_weight": 0.0},
         "heldout": {"count": 2, "seed": 9, "seeds": [0]}}
STAGES = ["snapshot", "train_critic", "evaluate_critic", "promote_critic", "generate_candidates", "score", "align",
          "evaluate_generator", "promote_generator", "generate_next_round"]


def _rated_campaign(count=12):
    """Synthetic-world videos rated by two annotators; the world's seed is one whose prompts the loop's
    snapshot (seed 0) splits into train, validation and test."""
    from annotation.snapshots.hra_format import SPLITS, prompt_key, split_for

    campaign = CampaignFactory(name="rated", overlap=2)
    users = [add_member(campaign, UserFactory(roles=["annotator"])) for _ in range(2)]
    for seed in range(3, 40):
        videos = world_videos(count, seed=seed)
        if {split_for(prompt_key(v.prompt.text, v.prompt.text), 0) for v in videos} == set(SPLITS):
            break
    else:
        raise AssertionError("no world seed splits three ways")
    for video in videos:
        item = ItemFactory(campaign=campaign, video=video)
        for user in users:
            annotate(item, user, truth_ratings(video))
    return campaign


def test_admin_runs_the_whole_loop_on_tiny_models_and_sees_the_new_versions(
        page, models_dir, jobs_dir, tiny_cogvideox_dir, tiny_critic_dir, celery_worker_process):  # noqa: F811
    from alignment.services.registry import version_promote, version_register
    from annotation.services.prompts import prompt_categories_ensure_defaults

    page.set_default_timeout(20_000)
    prompt_categories_ensure_defaults()
    generator = version_promote(version=version_register(kind="generator", name="tiny cogvideox",
                                                         base=str(tiny_cogvideox_dir), config=TINY_GENERATOR))
    source = _rated_campaign()
    next_round = CampaignFactory(name="next round")
    UserFactory(username="boss", roles=["admin"])

    sign_in(page, "boss", path="/console/jobs?launch=retrain_loop")
    page.get_by_test_id("launch-source_campaign_ids").fill(str(source.pk))
    page.get_by_test_id("launch-next_round_campaign").select_option(str(next_round.pk))
    page.get_by_test_id("launch-candidate_count").fill("2")
    page.get_by_test_id("launch-candidate_seeds").fill("0, 1")
    page.get_by_test_id("launch-next_round_count").fill("2")
    page.get_by_test_id("launch-extra").fill(json.dumps(
        {"critic": {**CRITIC, "backbone": str(tiny_critic_dir)}, "candidates": {"seed": 100},
         "next_round": {"seed": 200}, "align": ALIGN}))
    page.get_by_test_id("launch-submit").click()

    detail = page.get_by_test_id("job-detail")
    try:
        expect(detail).to_have_attribute("data-status", "succeeded", timeout=480_000)
    except AssertionError:
        loop = Job.objects.filter(kind="retrain_loop").first()
        raise AssertionError(f"{loop and (loop.status, loop.error, loop.metrics.get('stages'))}\n"
                             + "".join(celery_worker_process.output_lines[-40:])) from None
    for name in STAGES:
        expect(page.locator(f'[data-testid="job-stage"][data-name="{name}"]')).to_have_attribute(
            "data-status", "succeeded")
    loop = Job.objects.get(kind="retrain_loop")
    critic = ModelVersion.objects.get(kind="critic", created_by_job__parent=loop)
    aligned = ModelVersion.objects.get(kind="generator", created_by_job__parent=loop)
    assert aligned.parent_id == generator.pk
    assert next_round.items.count() == len(loop.result["next_round_video_ids"]) > 0

    page.get_by_test_id("console-tab-models").click()
    for version in (critic, aligned):
        row = page.locator(f'[data-testid="version"][data-version-id="{version.pk}"]')
        expect(row).to_be_visible()
        expect(row.get_by_test_id("version-lineage")).to_contain_text("made by job")
    assert page.console_errors == []
