"""One whole retrain loop on the tiny models through a real Celery worker: rated synthetic-world videos →
snapshot → critic → promoted → candidates from the tiny CogVideoX → scored → aligned → evaluated →
promoted if better → the next round in the campaign. Few steps and tiny videos: this is the wiring."""
import pytest

from alignment.models import Job, ModelVersion
from alignment.services.registry import promotion_refusal
from tests.align.conftest import FAST_SETTINGS, TINY_GENERATOR, tiny_cogvideox_dir  # noqa: F401
from tests.critic.conftest import jobs_dir, tiny_critic_dir, truth_ratings, world_videos  # noqa: F401
from tests.loop.conftest import wait_job

CRITIC = {"steps": 4, "batch_size": 4, "eval_every": 2, "checkpoint_every": 2, "lr": 3e-4}


def _world_seed_split_three_ways(count: int) -> int:
    """World videos whose prompts fall in train, validation and test under the loop's snapshot seed (0)."""
    from alignment.engine.critic.synthetic_data import synthetic_videos
    from annotation.snapshots.hra_format import SPLITS, prompt_key, split_for

    for world_seed in range(100):
        captions = [caption for _, caption, _ in synthetic_videos(count, seed=world_seed)]
        if {split_for(prompt_key(c, c), 0) for c in captions} == set(SPLITS):
            return world_seed
    raise AssertionError("no world seed splits three ways")


@pytest.fixture
def worker(transactional_db, settings, jobs_dir, models_dir):  # noqa: F811
    """Started after the job and model folders are set, so it writes where the test looks."""
    import redis

    from tests.conftest import start_worker, stop_worker

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    proc = start_worker()
    yield proc
    stop_worker(proc)


@pytest.mark.slow  # about two minutes on two shared CPU cores
@pytest.mark.django_db(transaction=True)
def test_a_whole_loop_on_the_tiny_models_ends_with_new_critic_and_generator_versions(
        worker, tiny_cogvideox_dir, tiny_critic_dir):  # noqa: F811
    from alignment.services.registry import version_promote
    from alignment.loop.policy import loop_start
    from alignment.services.registry import version_register
    from annotation.services.prompts import prompt_create
    from tests.factories import CampaignFactory, ItemFactory, UserFactory, add_member
    from tests.quality.util import annotate

    base = version_promote(version=version_register(kind="generator", name="tiny cogvideox",
                                                    base=str(tiny_cogvideox_dir), config=TINY_GENERATOR))
    rated = CampaignFactory(overlap=2)
    users = [add_member(rated, UserFactory(roles=["annotator"])) for _ in range(2)]
    for video in world_videos(12, seed=_world_seed_split_three_ways(12)):
        item = ItemFactory(campaign=rated, video=video)
        for position, user in enumerate(users):
            annotate(item, user, truth_ratings(video, flip="motion" if position else None))
    next_round = CampaignFactory()
    prompts = [prompt_create(text=text, source="synthetic") for text in
               ("one red circle moving left", "two blue squares spinning", "a green triangle on grass")]
    params = {"source_campaign_ids": [rated.pk], "next_round_campaign": next_round.pk,
              "candidates": {"prompt_ids": [prompts[0].pk, prompts[1].pk], "seeds": [0]},
              "next_round": {"prompt_ids": [prompts[2].pk], "seeds": [0]},
              "critic": {**CRITIC, "backbone": str(tiny_critic_dir)},
              "align": {"settings": {**FAST_SETTINGS, "real_weight": 0.0},
                        "heldout": {"prompt_ids": [prompts[2].pk], "seeds": [0]}}}

    trigger = loop_start(params=params, source="manual")
    assert trigger.outcome == "started"
    loop = wait_job(trigger.loop_id, timeout=900)
    assert loop.status == "succeeded", loop.error + "".join(worker.output_lines[-40:])

    stages = loop.metrics["stages"]
    assert [s["name"] for s in stages] == ["snapshot", "train_critic", "evaluate_critic", "promote_critic",
                                           "generate_candidates", "score", "align", "evaluate_generator",
                                           "promote_generator", "generate_next_round"]
    assert all(s["status"] == "succeeded" and s["outcome"] for s in stages), stages
    children = loop.stages.order_by("pk")
    assert [c.kind for c in children] == ["snapshot", "train_critic", "generate", "score", "align", "generate"]
    assert all(c.status == "succeeded" and c.attempts == 1 for c in children)

    critic = ModelVersion.objects.get(pk=loop.result["critic_version"])
    assert critic.kind == "critic" and critic.lineage["snapshot"] == loop.result["snapshot_id"]
    assert critic.is_active and loop.result["critic_promoted"]  # there was no critic before: the rule takes it
    assert "mean_accuracy" in stages[2]["outcome"]

    aligned = ModelVersion.objects.get(pk=loop.result["generator_version"])
    assert aligned.kind == "generator" and aligned.parent == base and aligned.adapter_path
    assert aligned.lineage["critic"] == critic.pk
    assert {"heldout_reward_before", "heldout_reward_after"} <= set(aligned.metrics)
    # Promoted only when the registry's rule takes it (a rise beyond its noise); either way the next round used
    # the active generator.
    improved = promotion_refusal(version=aligned, active=None) is None
    assert not improved or aligned.metrics["heldout_reward_after"] > aligned.metrics["heldout_reward_before"]
    assert loop.result["generator_promoted"] == improved == aligned.is_active
    active = ModelVersion.objects.get(kind="generator", is_active=True)
    next_videos = next_round.items.values_list("video__generator", flat=True)
    assert list(next_videos) == [f"generator:{active.pk}"]
    assert loop.attempts == 1 and Job.objects.filter(kind="retrain_loop").count() == 1
