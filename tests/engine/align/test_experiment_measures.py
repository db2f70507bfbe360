"""The alignment experiment's read-outs: how well the critic ranks videos as the judge does, and when a run
counts as reward hacking."""
import pytest

from alignment.engine.align.experiment import rank_correlation, reward_hacking


def test_rank_correlation_follows_order_not_scale():
    assert rank_correlation([1, 2, 3, 4], [10, 200, 3000, 40000]) == pytest.approx(1.0)
    assert rank_correlation([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # Ties share their mean rank: ranks (0.5, 0.5, 2, 3) against (0, 1, 2, 3) correlate at 0.9487.
    assert rank_correlation([5, 5, 6, 7], [1, 2, 3, 4]) == pytest.approx(0.9486833, abs=1e-6)


def test_rank_correlation_is_undefined_when_one_side_does_not_vary():
    assert rank_correlation([0.3, 0.3, 0.3], [1, 2, 3]) is None


@pytest.mark.parametrize("critic_gain, judged_gain, hacked", [
    (0.12, -0.14, True),   # the critic's reward rose, the judge's fell
    (0.12, 0.20, False),   # both rose
    (0.01, -0.05, False),  # the critic barely moved: a failed run, not hacking
    (None, -0.05, False),  # no critic in the run
])
def test_reward_hacking_is_a_critic_rise_without_a_judged_one(critic_gain, judged_gain, hacked):
    assert reward_hacking({"critic_gain": critic_gain, "judged_gain": judged_gain}) is hacked


def test_the_judge_ceiling_weighs_candidates_by_the_judges_own_ratings():
    """`ranked_by="judge"`: a clean render outweighs the same scene with a severe blur, by the judge's reward."""
    import numpy as np

    from alignment.engine.align.experiment import judged_candidates
    from alignment.engine.synthetic import CLIP_FRAMES, CLIP_SIZE, Defect, Defects, judge, render, sample_prompt

    spec = sample_prompt(np.random.default_rng(3))
    clean = render(spec, Defects(), frames=CLIP_FRAMES, size=CLIP_SIZE, seed=1)
    blurred = render(spec, Defects(fidelity=Defect(kind="blur", severity="severe")), frames=CLIP_FRAMES,
                     size=CLIP_SIZE, seed=1)
    videos = [(spec.to_text(), 0, clean), (spec.to_text(), 1, blurred)]
    verdicts = [judge(frames, prompt) for prompt, _, frames in videos]
    ranked = judged_candidates(videos, verdicts)
    assert [s.reward for s in ranked] == [v.reward for v in verdicts]
    assert ranked[0].reward > ranked[1].reward and ranked[1].ratings["fidelity"] == "Bad"
    assert [s.metadata["seed"] for s in ranked] == [0, 1]


@pytest.mark.parametrize("setup, message", [
    ({"ranked_by": "oracle"}, "ranked_by must be critic or judge"),
    ({"ranked_by": "judge", "objective": "edit_reward"}, "the judge has none"),
])
def test_an_unknown_or_impossible_ranking_is_refused_before_any_work(tmp_path, setup, message):
    from alignment.engine.align.experiment import AlignmentSetup, run_alignment_experiment

    with pytest.raises(ValueError, match=message):
        run_alignment_experiment("no-such-model", None, [AlignmentSetup(**setup)], tmp_path)


def test_measure_shows_where_the_critics_ratings_go_per_dimension():
    """A critic sure that both a clean render and its severely blurred twin are Normal pictures: the confusion
    table puts the judge's Good and Bad in the critic's Normal, and its mean fidelity reward is Normal's."""
    import numpy as np

    from alignment.engine.align.experiment import measure
    from alignment.engine.critic.score import VideoScore, dimension_score, video_reward
    from alignment.engine.synthetic import CLIP_FRAMES, CLIP_SIZE, Defect, Defects, judge, render, sample_prompt

    spec = sample_prompt(np.random.default_rng(3))
    videos = [(spec.to_text(), seed, render(spec, defects, frames=CLIP_FRAMES, size=CLIP_SIZE, seed=1))
              for seed, defects in enumerate([Defects(), Defects(fidelity=Defect(kind="blur", severity="severe"))])]
    verdicts = [judge(frames, prompt) for prompt, _, frames in videos]
    assert [v.ratings["fidelity"] for v in verdicts] == ["Good", "Bad"]

    def read(fidelity: str, other: str) -> VideoScore:
        dims = {d: dimension_score({r: float(r == (fidelity if d == "fidelity" else other)) for r in ("Good", "Normal", "Bad")})
                for d in ("semantic", "motion", "fidelity")}
        return VideoScore(dims, video_reward(dims))

    scores = [read("Normal", verdicts[0].ratings["semantic"]), read("Normal", "Bad")]
    measured = measure(videos, None, scores=scores, verdicts=verdicts)
    assert measured.critic_confusion["fidelity"]["Good"] == {"Good": 0, "Normal": 1, "Bad": 0}
    assert measured.critic_confusion["fidelity"]["Bad"] == {"Good": 0, "Normal": 1, "Bad": 0}
    assert measured.critic_per_dimension["fidelity"] == pytest.approx(0.2)
    assert measured.judged_per_dimension["fidelity"] == pytest.approx((0.9 + 0.05) / 2)
    assert measured.critic_agreement["fidelity"] == 0.0
