"""train_preference_critic: a pairwise snapshot → a Bradley–Terry critic registered as a critic version,
measured on the test pairs beside the active rating critic; its scores feed the score job (a reward σ(score)
and an uncertainty per dimension, no rating word), alignment, and promotion compares it on the same pairs.
Tiny random models train a few steps: this is the wiring; learning is a bench matter."""
import math

import pytest

from alignment.models import ModelVersion, VideoScore
from alignment.services.jobs import job_create, job_run, job_start
from alignment.services.registry import promotion_refusal, version_promote, version_register
from lift.api_errors import ApplicationError
from tests.align.conftest import align_params
from tests.pairs.util import world_pair_snapshot

A_BETTER = {"semantic": "A", "motion": "A", "fidelity": "tie"}
B_BETTER = {"semantic": "B", "motion": "tie", "fidelity": "B"}
SPLITS = ["train", "train", "train", "train", "test", "test", "test"]
FAST = {"steps": 4, "batch_size": 2, "finetune": "full", "lr": 1e-3}


@pytest.fixture
def compared(db, settings, tmp_path):
    votes = [A_BETTER, B_BETTER, A_BETTER, B_BETTER, A_BETTER, B_BETTER, {"semantic": "tie", "motion": "tie",
                                                                            "fidelity": "tie"}]
    return world_pair_snapshot(settings.MEDIA_ROOT, tmp_path / "snapshot", votes, SPLITS)


@pytest.fixture
def jobs_dir(tmp_path, settings):
    settings.LIFT = {**settings.LIFT, "JOBS_DIR": tmp_path / "jobs"}
    return tmp_path / "jobs"


def _train(snapshot, backbone, **changes):
    job, _ = job_create(kind="train_preference_critic", dispatch=False,
                        params={"snapshot": snapshot.pk, "backbone": str(backbone), **FAST, **changes})
    job = job_run(job_id=job.pk)
    assert job.status == "succeeded", job.error
    return job, ModelVersion.objects.get(pk=job.result["critic_version"])


def test_a_preference_critic_is_trained_measured_beside_the_rating_critic_and_registered(
        compared, jobs_dir, tiny_critic_dir, critic):  # critic: the active rating critic
    snapshot, items = compared
    job, version = _train(snapshot, tiny_critic_dir, name="bt")
    assert version.config["critic_kind"] == "preference" and version.config["dimensions"] == ["semantic", "motion", "fidelity"]
    assert version.lineage["hyperparameters"]["readout"] == "questions"
    metrics = version.metrics
    assert metrics["test_pairs"] == 3 and metrics["test_split"]["pairs"] == sorted(i.pk for i in items[4:])
    assert [step for step, _ in metrics["loss_curve"]] == [1, 2, 3, 4] and job.result["train_pairs"] == 4
    # Semantic was judged on every test pair, two of them with a side; fidelity's A_BETTER pair is a tie.
    semantic = metrics["dimensions"]["semantic"]
    assert semantic["pairs"] == 3 and semantic["accuracy_without_ties"] in (0.0, 0.5, 1.0)
    assert 0 <= semantic["accuracy_with_ties"] <= 1
    beside = metrics["rating_critic_on_these_pairs"]
    assert beside["critic"] == critic.pk and set(beside["dimensions"]) == {"semantic", "motion", "fidelity"}
    tested = {v for item in items[4:] for v in (item.video_id, item.video_b_id)}
    assert set(VideoScore.objects.filter(critic=critic).values_list("video_id", flat=True)) == tested


def test_the_weights_kept_are_those_of_the_best_accuracy_on_the_validation_pairs(db, settings, tmp_path, jobs_dir,
                                                                                 tiny_critic_dir):
    votes = [A_BETTER, B_BETTER, A_BETTER, B_BETTER, A_BETTER, B_BETTER, A_BETTER, B_BETTER]
    snapshot, items = world_pair_snapshot(settings.MEDIA_ROOT, tmp_path / "snapshot", votes,
                                          [*SPLITS[:6], "validation", "validation"])
    job, version = _train(snapshot, tiny_critic_dir, steps=6, eval_every=2)
    metrics = version.metrics
    assert metrics["validation_pairs"] == 2 and [v["step"] for v in metrics["validation_curve"]] == [2, 4, 6]
    accuracies = [v["accuracy"] for v in metrics["validation_curve"]]
    assert metrics["best_step"] == metrics["validation_curve"][accuracies.index(max(accuracies))]["step"]
    assert version.lineage["hyperparameters"]["eval_every"] == 2
    assert "kept step" in job.log_tail


def test_its_scores_feed_the_score_job_and_alignment(compared, jobs_dir, tiny_critic_dir, generator, real_clips,
                                                     prompt_bank, models_dir):
    snapshot, items = compared
    _, version = _train(snapshot, tiny_critic_dir)
    videos = [items[0].video_id, items[0].video_b_id]
    score, _ = job_create(kind="score", dispatch=False, params={"critic": version.pk, "video_ids": videos})
    assert job_run(job_id=score.pk).status == "succeeded"
    rows = list(VideoScore.objects.filter(critic=version))
    assert len(rows) == 6 and all(r.rating == "" and 0 < r.reward < 1 for r in rows)
    assert all(math.isclose(r.reward, 1 / (1 + math.exp(-r.probs["score"])), rel_tol=1e-9) for r in rows)
    assert all(0 <= r.uncertainty <= math.log(2) + 1e-9 for r in rows)

    aligned, _ = job_create(kind="align", dispatch=False, params=align_params(
        generator, version, real_clips, candidates={"generate": {"count": 1, "seeds": [0, 1], "seed": 3}}))
    aligned = job_run(job_id=aligned.pk)
    assert aligned.status == "succeeded", aligned.error
    result = ModelVersion.objects.get(pk=aligned.result["version_id"])
    assert result.lineage["data"]["critic_rated"] == 2 and result.metrics["heldout_reward_before"] is not None


def test_a_critic_reading_the_caption_alone_scores_the_way_it_was_trained(compared, jobs_dir, tiny_critic_dir):
    from alignment.engine.critic.pairwise import PairwiseCritic

    snapshot, items = compared
    _, version = _train(snapshot, tiny_critic_dir, readout="caption")  # the default reads the rating questions
    assert version.lineage["hyperparameters"]["readout"] == "caption"
    assert PairwiseCritic.from_pretrained(version.config["critic_dir"]).readout == "caption"
    score, _ = job_create(kind="score", dispatch=False,
                          params={"critic": version.pk, "video_ids": [items[0].video_id, items[0].video_b_id]})
    assert job_run(job_id=score.pk).status == "succeeded"
    assert VideoScore.objects.filter(critic=version).count() == 6


def test_promotion_compares_pairwise_accuracy_on_the_same_pairs(db):
    rating = version_promote(version=version_register(kind="critic", name="rating", base="x",
                                                      metrics={"mean_accuracy": 0.7}))

    def preference(name, mine, theirs, measured=rating):
        return version_register(kind="critic", name=name, base="x", config={"critic_kind": "preference"}, metrics={
            "mean_accuracy_without_ties": mine, "test_split": {"pairs": [1, 2]},
            "rating_critic_on_these_pairs": {"critic": measured.pk, "mean_accuracy_without_ties": theirs}})

    assert promotion_refusal(version=preference("better", 0.8, 0.6), active=rating) is None
    assert "below the active critic's 0.900" in promotion_refusal(version=preference("worse", 0.8, 0.9), active=rating)
    other = version_register(kind="critic", name="other rating", base="x", metrics={"mean_accuracy": 0.9})
    assert "not measured" in promotion_refusal(version=preference("elsewhere", 0.8, 0.6, measured=other), active=rating)


def test_bad_requests_are_refused_before_a_job_exists(compared, jobs_dir):
    snapshot, _ = compared
    for bad, message in [({"finetune": "half"}, "finetune"), ({"steps": 0}, "steps"), ({"lr": "fast"}, "lr"),
                         ({"eval_every": -1}, "eval_every"), ({"readout": "answer"}, "readout"),
                         ({"depth": 2}, "Unknown"), ({"tie_model": "coin"}, "tie_model"),
                         ({"snapshot": 999_999}, "snapshot")]:
        with pytest.raises(ApplicationError, match=message):
            job_create(kind="train_preference_critic", params={"snapshot": snapshot.pk, **bad}, dispatch=False)
    assert not ModelVersion.objects.filter(config__critic_kind="preference").exists()


def test_the_retrain_loop_trains_a_preference_critic_on_a_pairwise_campaign(compared, jobs_dir, tiny_critic_dir,
                                                                            critic, generator):
    from alignment.services.registry import version_promote
    from tests.loop.conftest import drive

    _, items = compared
    version_promote(version=generator)
    loop, _ = job_create(kind="retrain_loop", dispatch=False, params={
        "stages": ["snapshot", "train_critic", "evaluate_critic", "promote_critic"],
        "source_campaign_ids": [items[0].campaign_id],
        "critic": {"kind": "preference", "backbone": str(tiny_critic_dir), "name": "loop bt", **FAST}})
    job_start(job_id=loop.pk)
    loop = drive(loop.pk)
    assert loop.status == "succeeded", loop.error
    stages = {s["name"]: s for s in loop.metrics["stages"]}
    assert stages["train_critic"]["kind"] == "train_preference_critic"
    version = ModelVersion.objects.get(name="loop bt")
    assert version.config["critic_kind"] == "preference" and version.metrics["test_pairs"] == 3
    assert "mean_accuracy_without_ties" in stages["evaluate_critic"]["outcome"]
    with pytest.raises(ApplicationError, match="critic.kind"):
        job_create(kind="retrain_loop", dispatch=False, params={"stages": ["snapshot", "train_critic"],
                                                                "critic": {"kind": "ranking"}})
