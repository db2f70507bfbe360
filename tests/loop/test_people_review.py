"""The people's gate: an aligned generator waits while the next round rates its videos beside the active
generator's (same prompts and seeds), and the next loop promotes or retires it on those ratings."""
import pytest

from alignment.loop.params import loop_params_validate
from alignment.loop.stages import stage_named
from alignment.models import Job, ModelVersion, PromotionEvent
from alignment.services.jobs import job_create, job_run, job_start
from alignment.services.people_review import MIN_PAIRS, generator_await_review, generator_review
from alignment.services.registry import version_promote, version_register
from annotation.models import CampaignItem, Video
from annotation.services.campaigns import campaign_create
from lift.api_errors import ApplicationError
from tests.factories import CampaignFactory, ItemFactory, PromptFactory, UserFactory, VideoFactory
from tests.loop.conftest import MECHANICS, drive, loop_params
from tests.quality.util import annotate, ratings

STATES = ["accepted", "corrected", "pending"]


@pytest.fixture
def challenger(active_generator):
    return version_register(kind="generator", name="aligned", base="synthetic://world",
                            config=active_generator.config, parent=active_generator)


def _rated_pairs(campaign, incumbent, challenger, count, *, mine="Good", theirs="Normal", review_state="pending"):
    """`count` prompts, one seed each, made by both generators and rated by two people."""
    people = [UserFactory(), UserFactory()]
    for index in range(count):
        prompt = PromptFactory()
        for version, level in ((incumbent, theirs), (challenger, mine)):
            video = VideoFactory(prompt=prompt, seed=index, generator=f"generator:{version.pk}")
            item = ItemFactory(campaign=campaign, video=video)
            for person in people:
                annotate(item, person, ratings(level, level, "Normal"), review_state=review_state)


def test_people_who_rate_the_challenger_higher_prompt_by_prompt_promote_it(active_generator, challenger):
    _rated_pairs(CampaignFactory(), active_generator, challenger, MIN_PAIRS, mine="Good", theirs="Normal")
    review = generator_review(challenger=challenger, incumbent=active_generator, review_states=STATES)
    assert review["verdict"] == "promote" and review["evidence"] == "ratings"
    assert review["pairs"] == {"ratings": MIN_PAIRS, "comparisons": 0}
    # Good is 0.9 and Normal 0.2 on two of three dimensions, the third the same on both sides.
    assert review["lead"] == pytest.approx((0.9 - 0.2) * 2 / 3, abs=1e-4)
    assert review["dimensions"] == {"semantic": pytest.approx(0.7), "motion": pytest.approx(0.7), "fidelity": 0.0}

    generator_await_review(version=challenger)
    outcome, context = stage_named("review_generator").inline({"review_states": STATES, "source_campaign_ids": []}, {}, None)
    challenger.refresh_from_db()
    assert outcome.startswith(f"promoted generator version {challenger.pk}: people's ratings on {MIN_PAIRS} ")
    assert challenger.is_active and not challenger.awaiting_review
    assert challenger.metrics["people_review"]["verdict"] == "promote"
    event = PromotionEvent.objects.get(version=challenger)
    assert event.previous_id == active_generator.pk and not event.forced
    assert event.reason.startswith(f"people's ratings on {MIN_PAIRS} prompt-and-seed pairs")
    assert context["generator_review"]["incumbent"] == active_generator.pk


@pytest.mark.parametrize("mine, theirs", [("Normal", "Normal"), ("Bad", "Good")])
def test_a_challenger_people_do_not_rate_clearly_higher_is_retired(active_generator, challenger, mine, theirs):
    _rated_pairs(CampaignFactory(), active_generator, challenger, MIN_PAIRS, mine=mine, theirs=theirs)
    generator_await_review(version=challenger)
    outcome, _ = stage_named("review_generator").inline({"review_states": STATES, "source_campaign_ids": []}, {}, None)
    challenger.refresh_from_db()
    active_generator.refresh_from_db()
    assert outcome.startswith(f"retired generator version {challenger.pk}")
    assert active_generator.is_active and not challenger.is_active and not challenger.awaiting_review
    assert challenger.metrics["people_review"]["verdict"] == "retire"
    assert not PromotionEvent.objects.filter(version=challenger).exists()


def test_the_review_waits_for_enough_pairs_and_counts_only_accepted_ratings_of_the_same_prompt_and_seed(
        active_generator, challenger):
    campaign = CampaignFactory()
    _rated_pairs(campaign, active_generator, challenger, MIN_PAIRS - 1)
    _rated_pairs(campaign, active_generator, challenger, 3, review_state="rejected")  # rejected ratings never count
    # The challenger's video of a prompt the active generator was not rated on pairs with nothing.
    lone = ItemFactory(campaign=campaign, video=VideoFactory(seed=0, generator=f"generator:{challenger.pk}"))
    annotate(lone, UserFactory(), ratings("Good", "Good", "Good"))
    generator_await_review(version=challenger)

    outcome, context = stage_named("review_generator").inline({"review_states": STATES, "source_campaign_ids": []}, {}, None)
    challenger.refresh_from_db()
    assert context["generator_review"]["verdict"] == "wait"
    assert context["generator_review"]["pairs"] == {"ratings": MIN_PAIRS - 1, "comparisons": 0}
    assert outcome.startswith(f"generator version {challenger.pk} still awaits people's ratings")
    assert challenger.awaiting_review and not challenger.is_active

    # Ratings from another campaign than the loop's sources do not count either.
    other = CampaignFactory()
    _rated_pairs(other, active_generator, challenger, 2)
    review = generator_review(challenger=challenger, incumbent=active_generator, review_states=STATES,
                              campaign_ids=[campaign.pk])
    assert review["pairs"]["ratings"] == MIN_PAIRS - 1
    everywhere = generator_review(challenger=challenger, incumbent=active_generator, review_states=STATES)
    assert everywhere["pairs"]["ratings"] == MIN_PAIRS + 1


def _compared_pairs(campaign, incumbent, challenger, count, *, for_challenger=("semantic", "motion")):
    """`count` prompts, one seed each, made by both generators and compared side by side by two people, the
    challenger's video A in half the items and B in the other half; people prefer it on `for_challenger`, the
    other dimensions are ties."""
    people = [UserFactory(), UserFactory()]
    for index in range(count):
        prompt = PromptFactory()
        videos = [VideoFactory(prompt=prompt, seed=index, generator=f"generator:{version.pk}")
                  for version in (challenger, incumbent)]
        a, b = videos if index % 2 else videos[::-1]
        item = ItemFactory(campaign=campaign, video=a, video_b=b)
        mine = "A" if a is videos[0] else "B"
        choices = {dim: {"choice": mine if dim in for_challenger else "tie", "rationale": "clearer"}
                   for dim in ("semantic", "motion", "fidelity")}
        for person in people:
            annotate(item, person, choices)


def test_side_by_side_comparisons_of_the_two_generators_decide_where_there_are_enough(active_generator, challenger):
    pairs = campaign_create(name="challenger against active", kind="pairwise")
    _compared_pairs(pairs, active_generator, challenger, MIN_PAIRS)
    # Ratings on their own say the opposite, but the direct comparison is the evidence when there is enough of it.
    _rated_pairs(CampaignFactory(), active_generator, challenger, MIN_PAIRS, mine="Bad", theirs="Good")
    review = generator_review(challenger=challenger, incumbent=active_generator, review_states=STATES)
    assert review["evidence"] == "comparisons" and review["pairs"] == {"comparisons": MIN_PAIRS, "ratings": MIN_PAIRS}
    assert review["verdict"] == "promote" and review["lead"] == pytest.approx(2 / 3, abs=1e-4)
    assert review["dimensions"] == {"fidelity": 0.0, "motion": 1.0, "semantic": 1.0}

    against = generator_review(challenger=active_generator, incumbent=challenger, review_states=STATES)
    assert against["verdict"] == "retire" and against["lead"] == pytest.approx(-2 / 3, abs=1e-4)
    # A pair of two seeds, even of the two generators, is not a comparison of the same prompt and seed.
    prompt = PromptFactory()
    odd = ItemFactory(campaign=pairs, video=VideoFactory(prompt=prompt, seed=0, generator=f"generator:{challenger.pk}"),
                      video_b=VideoFactory(prompt=prompt, seed=1, generator=f"generator:{active_generator.pk}"))
    annotate(odd, UserFactory(), {dim: {"choice": "B", "rationale": "r"} for dim in ("semantic", "motion", "fidelity")})
    again = generator_review(challenger=challenger, incumbent=active_generator, review_states=STATES)
    assert again["pairs"]["comparisons"] == MIN_PAIRS and again["lead"] == review["lead"]


def test_a_newer_challenger_supersedes_the_one_waiting(active_generator, challenger):
    newer = version_register(kind="generator", name="aligned again", base="synthetic://world",
                             config=active_generator.config, parent=active_generator)
    generator_await_review(version=challenger)
    generator_await_review(version=newer)
    assert list(ModelVersion.objects.filter(awaiting_review=True)) == [newer]
    # An admin who promotes it by hand (forced: it has no held-out figures) ends the wait.
    version_promote(version=newer, force=True, reason="looked at the videos")
    assert not ModelVersion.objects.filter(awaiting_review=True).exists()


def test_with_the_people_gate_the_promote_stage_leaves_the_aligned_generator_waiting_and_the_next_round_makes_both(
        active_generator, challenger, world_prompts):
    campaign = CampaignFactory()
    params = loop_params_validate(params={**loop_params(world_prompts, next_round_campaign=campaign.pk),
                                          "generator_gate": "people"})
    assert params["stages"] == ["review_generator", *MECHANICS]  # every people-gated loop reviews first

    outcome, context = stage_named("promote_generator").inline(params, {"generator_version": challenger.pk}, None)
    challenger.refresh_from_db()
    assert challenger.awaiting_review and not challenger.is_active
    assert context == {"generator_promoted": False, "generator_challenger": challenger.pk}
    assert "awaits people's ratings" in outcome

    # The next round: the same prompts and seeds from both generators, each video an item to rate on its own.
    job, _ = job_create(kind="generate", params=stage_named("generate_next_round").build(params, context), dispatch=False)
    job = job_run(job_id=job.pk)
    assert job.status == "succeeded", job.error
    videos = Video.objects.filter(pk__in=job.result["video_ids"])
    made = {(v.generator, v.prompt_id, v.seed) for v in videos}
    keys = {(p.pk, 0) for p in world_prompts[2:4]}
    assert made == {(f"generator:{version.pk}", *key) for version in (active_generator, challenger) for key in keys}
    items = CampaignItem.objects.filter(campaign=campaign)
    assert items.count() == 4 and not items.filter(video_b__isnull=False).exists()


def test_the_people_gate_runs_the_review_as_the_loops_first_stage(active_generator, challenger, world_prompts):
    _rated_pairs(CampaignFactory(), active_generator, challenger, MIN_PAIRS)
    generator_await_review(version=challenger)
    loop, _ = job_create(kind="retrain_loop", dispatch=False,
                         params={**loop_params(world_prompts, next_round_campaign=CampaignFactory().pk),
                                 "generator_gate": "people"})
    job_start(job_id=loop.pk)
    loop = drive(loop.pk)
    assert loop.status == Job.Status.SUCCEEDED, loop.error
    assert loop.metrics["stages"][0]["name"] == "review_generator"
    assert loop.result["generator_review"]["verdict"] == "promote"
    # The stages after it generate with the generator people just promoted.
    candidates = Video.objects.filter(pk__in=loop.result["candidate_video_ids"])
    assert {v.generator for v in candidates} == {f"generator:{challenger.pk}"}


def test_an_unknown_gate_is_refused_with_the_field_named(active_generator, world_prompts):
    with pytest.raises(ApplicationError) as refused:
        loop_params_validate(params={**loop_params(world_prompts), "generator_gate": "vote"})
    assert refused.value.fields == {"generator_gate": "unknown"}


@pytest.mark.parametrize("gate", ["people", "critic_first"])
def test_a_gate_people_decide_needs_a_campaign_to_rate_the_next_round_in(active_generator, world_prompts, gate):
    """Without one, a waiting generator's videos would be made where nobody can rate them."""
    with pytest.raises(ApplicationError) as refused:
        loop_params_validate(params={**loop_params(world_prompts), "generator_gate": gate})
    assert refused.value.fields == {"next_round_campaign": "required by the gate"}
    without_next_round = [name for name in MECHANICS if name != "generate_next_round"]
    params = loop_params_validate(params={**loop_params(world_prompts, stages=without_next_round), "generator_gate": gate})
    assert params["stages"] == ["review_generator", *without_next_round]  # people rate in a campaign of their choosing


def test_with_no_active_generator_to_compare_with_the_challenger_keeps_waiting(active_generator, challenger):
    _rated_pairs(CampaignFactory(), active_generator, challenger, MIN_PAIRS)
    generator_await_review(version=challenger)
    ModelVersion.objects.filter(pk=active_generator.pk).update(is_active=False)
    outcome, context = stage_named("review_generator").inline({"review_states": STATES, "source_campaign_ids": []}, {}, None)
    challenger.refresh_from_db()
    assert context["generator_review"]["verdict"] == "wait" and "no active generator" in outcome
    assert challenger.awaiting_review and not challenger.is_active


@pytest.mark.parametrize("after, promoted", [(0.30, True), (0.19, False)])
def test_critic_first_promotes_what_the_critic_finds_better_and_leaves_its_refusals_to_people(
        active_generator, challenger, world_prompts, after, promoted):
    campaign = CampaignFactory()
    ModelVersion.objects.filter(pk=challenger.pk).update(
        metrics={"heldout_reward_before": 0.20, "heldout_reward_after": after})
    earlier = generator_await_review(version=version_register(
        kind="generator", name="refused last round", base="synthetic://world", config=active_generator.config))
    params = loop_params_validate(params={**loop_params(world_prompts, next_round_campaign=campaign.pk),
                                          "generator_gate": "critic_first"})
    assert params["stages"] == ["review_generator", *MECHANICS]  # a refusal left earlier is reviewed first

    outcome, context = stage_named("promote_generator").inline(params, {"generator_version": challenger.pk}, None)
    challenger.refresh_from_db()
    earlier.refresh_from_db()
    assert challenger.is_active is promoted and challenger.awaiting_review is not promoted
    assert not earlier.awaiting_review  # aligned from the generator just replaced, or superseded by the new refusal
    if promoted:
        assert outcome == f"promoted {challenger}" and context == {"generator_promoted": True}
        assert "compare_version" not in stage_named("generate_next_round").build(params, context)
    else:
        assert outcome.startswith("the critic kept the active generator (Held-out reward did not improve")
        assert outcome.endswith("awaits people's ratings beside the active generator's")
        assert context == {"generator_promoted": False, "generator_challenger": challenger.pk}
        assert stage_named("generate_next_round").build(params, context)["compare_version"] == challenger.pk
