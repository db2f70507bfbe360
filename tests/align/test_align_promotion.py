"""Aligned generators enter the registry like any version: promoted only when the held-out reward rose,
forced by an admin with a reason otherwise, and rolled back by promoting an earlier version."""
import statistics

import pytest

from alignment.models import ModelVersion, PromotionEvent
from alignment.services.align_data import heldout_change
from alignment.services.registry import version_promote, version_register
from lift.api_errors import Conflict
from tests.conftest import token_client
from tests.factories import UserFactory


@pytest.fixture
def admin(db):
    return token_client(UserFactory(roles=["admin"]))


def _aligned(parent, name, before, after):
    return version_register(kind="generator", name=name, base=parent.base, parent=parent, adapter_path="/lora",
                            lineage={"base": parent.pk, "objective": "reward_weighted"},
                            metrics={"heldout_reward_before": before, "heldout_reward_after": after})


def _promote(admin, version, **body):
    return admin.post(f"/api/models/{version.pk}/promote/", body, format="json")


def test_promotion_needs_a_better_heldout_reward_or_a_forced_reason_and_rolls_back(admin, generator):
    assert _promote(admin, generator).status_code == 200  # the base is the active generator
    worse = _aligned(generator, "worse", before=0.40, after=0.38)
    refused = _promote(admin, worse)
    assert refused.status_code == 409 and refused.json()["code"] == "promotion_refused"
    assert "did not improve (0.4000 before, 0.3800 after)" in refused.json()["detail"]
    assert _promote(admin, worse, force=True).status_code == 400  # forcing needs a reason
    assert ModelVersion.objects.get(is_active=True, kind="generator") == generator

    forced = _promote(admin, worse, force=True, reason="the videos look better to three reviewers")
    assert forced.status_code == 200 and forced.json()["is_active"]
    event = PromotionEvent.objects.get(version=worse)
    assert event.forced and event.previous == generator and "three reviewers" in event.reason

    better = _aligned(worse, "better", before=0.38, after=0.45)
    assert _promote(admin, better).status_code == 200  # improved: no force needed

    rollback = _promote(admin, generator, force=True, reason="roll back to the base")
    assert rollback.status_code == 200
    assert ModelVersion.objects.get(is_active=True, kind="generator") == generator
    assert list(PromotionEvent.objects.order_by("pk").values_list("version__name", flat=True)) == [
        generator.name, "worse", "better", generator.name]


def test_a_worse_aligned_generator_is_refused_even_before_any_generator_is_active(admin, generator):
    """Its metrics compare it with its parent, so no active version is needed to see it is worse."""
    worse = _aligned(generator, "worse", before=0.40, after=0.38)
    refused = _promote(admin, worse)
    assert refused.status_code == 409 and "did not improve" in refused.json()["detail"]
    assert not ModelVersion.objects.filter(kind="generator", is_active=True).exists()
    assert _promote(admin, generator).status_code == 200  # a registered base without metrics is promotable


def _measured(parent, name, before: list[float], after: list[float], paired: bool = False):
    """An aligned version with per-video held-out rewards summarised as the align job does; `paired`: the i-th
    video before and after share a prompt and seed, and the job's comparison of them is recorded."""
    sides = {side: {"mean_reward": statistics.mean(v), "reward_sd": statistics.stdev(v), "count": len(v),
                    "rewards_by_sample": {f"{i}:0": r for i, r in enumerate(v)}, "dimensions": {}, "video_stats": {}}
             for side, v in (("heldout_before", before), ("heldout_after", after))}
    metrics = {"heldout_reward_before": sides["heldout_before"]["mean_reward"],
               "heldout_reward_after": sides["heldout_after"]["mean_reward"], **sides}
    if paired:
        metrics["heldout_change"] = heldout_change(sides["heldout_before"], sides["heldout_after"])
    return version_register(kind="generator", name=name, base=parent.base, parent=parent, adapter_path="/lora",
                            lineage={"base": parent.pk, "objective": "reward_weighted"}, metrics=metrics)


def test_a_rise_within_the_noise_of_the_heldout_videos_is_not_promoted(generator, settings):
    # Means 0.40 → 0.41 over 4 videos each with a spread of ~0.26: the difference's standard error is ~0.18, so a
    # rise of 0.01 is noise; the same rise over 400 near-identical videos is not.
    settings.LIFT = {**settings.LIFT, "PROMOTION_MIN_SE": 2.0}
    noisy = _measured(generator, "noisy", before=[0.1, 0.7, 0.2, 0.6], after=[0.11, 0.71, 0.21, 0.61])
    with pytest.raises(Conflict, match=r"rose by 0\.0100, within its noise: not more than 2 standard errors of the difference of the means"):
        version_promote(version=noisy)
    steady = _measured(generator, "steady", before=[0.40, 0.41] * 200, after=[0.415, 0.425] * 200)
    assert version_promote(version=steady).is_active
    settings.LIFT = {**settings.LIFT, "PROMOTION_MIN_SE": 0.0}  # off: any rise is taken
    assert version_promote(version=noisy).is_active


def test_the_same_prompts_and_seeds_before_and_after_are_compared_sample_by_sample(generator, settings):
    """Every held-out sample rising by 0.01 is a rise, however much the samples differ from one another; the
    same mean rise made of samples going up and down by 0.2 is noise."""
    settings.LIFT = {**settings.LIFT, "PROMOTION_MIN_SE": 2.0}
    before = [0.1, 0.7, 0.2, 0.6, 0.3, 0.5]
    mixed = _measured(generator, "mixed", before=before, after=[0.3, 0.5, 0.4, 0.4, 0.5, 0.36], paired=True)
    assert mixed.metrics["heldout_change"]["reward_paired"]["count"] == 6
    with pytest.raises(Conflict, match=r"rose by 0\.0100, within its noise: not more than 2 standard errors of the rise "
                                        r"per held-out sample \(2 × 0\.08"):
        version_promote(version=mixed)
    steady = _measured(generator, "steady", before=before, after=[r + 0.01 for r in before], paired=True)
    assert steady.metrics["heldout_change"]["reward_paired"]["sd"] == pytest.approx(0, abs=1e-9)
    assert version_promote(version=steady).is_active
