"""DPO pairs from simulated people (the DPO experiment's "people" and "shuffled" preferences): every two videos of
a prompt compared per dimension by annotators who see what the judge sees, the consensus, and the side that wins
more dimensions; the control keeps the same pairs and draws their sides by a coin."""
from dataclasses import replace

import numpy as np

from alignment.engine.align.experiment import AlignmentSetup, people_pairs
from alignment.engine.synthetic import CLIP_FRAMES, CLIP_SIZE, Defect, Defects, judge, render, sample_prompt

SEVERE_BLUR = Defects(fidelity=Defect("blur", "severe"))
SEVERE_NOISE = Defects(fidelity=Defect("noise", "severe"))


def _videos():
    """Three renders of each of four prompts: clean, severely blurred, severely noisy (seed = render index)."""
    rng = np.random.default_rng(11)
    videos = []
    for _ in range(4):
        spec = sample_prompt(rng)
        for seed, defects in enumerate((Defects(), SEVERE_BLUR, SEVERE_NOISE)):
            videos.append((spec.to_text(), seed, render(spec, defects, frames=CLIP_FRAMES, size=CLIP_SIZE, seed=seed)))
    return videos


def _side(pair, videos) -> tuple[int, int]:
    """(preferred, rejected) as indices into `videos`."""
    index = {id(frames): i for i, (_, _, frames) in enumerate(videos)}
    return index[id(pair.preferred.frames)], index[id(pair.rejected.frames)]


def test_noise_free_people_prefer_the_video_the_judge_rates_better_and_skip_equal_ones():
    videos = _videos()
    pairs = people_pairs(videos, AlignmentSetup(preferences="people", label_noise=0.0))
    reward = [judge(frames, prompt).reward for prompt, _, frames in videos]
    ratings = [judge(frames, prompt).ratings for prompt, _, frames in videos]
    assert pairs, "clean against severely damaged renders must give preferences"
    for pair in pairs:
        better, worse = _side(pair, videos)
        assert videos[better][0] == videos[worse][0] == pair.prompt  # only videos of one prompt are compared
        assert reward[better] > reward[worse]
        assert set(pair.metadata["consensus"]) == {"semantic", "motion", "fidelity"}
    compared = {frozenset(_side(p, videos)) for p in pairs}
    for a in range(len(videos)):  # every pair left out had equal ratings (nothing to prefer)
        for b in range(a + 1, len(videos)):
            if videos[a][0] == videos[b][0] and frozenset((a, b)) not in compared:
                assert ratings[a] == ratings[b], (a, b)


def test_shuffled_preferences_keep_the_pairs_and_lose_the_preference():
    videos = _videos() * 3  # more pairs, so a coin shows both ways
    setup = AlignmentSetup(preferences="people", label_noise=0.0, seed=4)
    people = people_pairs(videos, setup)
    shuffled = people_pairs(videos, replace(setup, preferences="shuffled"))
    as_sets = lambda pairs: sorted(sorted(_side(p, videos)) for p in pairs)  # noqa: E731
    assert as_sets(people) == as_sets(shuffled)
    agree = [_side(a, videos) == _side(b, videos) for a, b in zip(people, shuffled)]
    assert 0 < sum(agree) < len(agree)


def test_label_noise_changes_some_consensus_but_three_annotators_outvote_most_of_it():
    videos = _videos()
    clean = people_pairs(videos, AlignmentSetup(preferences="people", label_noise=0.0))
    noisy = people_pairs(videos, AlignmentSetup(preferences="people", label_noise=0.3, annotators=3, seed=2))
    clean_sides = {frozenset(_side(p, videos)): _side(p, videos) for p in clean}
    same = sum(clean_sides.get(frozenset(_side(p, videos))) == _side(p, videos) for p in noisy)
    assert same >= 0.6 * len(clean)
