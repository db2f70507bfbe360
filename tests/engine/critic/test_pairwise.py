"""The scalar-head Bradley–Terry critic on the tiny Qwen2-VL: it learns a trivially learnable preference."""

import numpy as np
import pytest
import torch

from alignment.engine.critic.pairwise import (PairExample, PairwiseCritic, pair_targets, score_pairs, train_pairwise,
                                              validation_accuracy)
from alignment.engine.critic.preference import OUTCOMES, accuracy_without_ties


def _brightness_pairs(n: int, rng: np.random.Generator) -> list[PairExample]:
    """Noisy frames at two brightness levels: on "fidelity" the brighter video wins, on "motion" the darker one,
    so the two heads must learn opposite orderings from one backbone."""

    def video(level: float) -> np.ndarray:
        return np.clip(rng.integers(0, 40, size=(9, 48, 48, 3)) + level, 0, 255).astype(np.uint8)

    pairs = []
    while len(pairs) < n:
        a, b = rng.uniform(20, 215, size=2)
        if abs(a - b) >= 20:  # a visible difference
            pairs.append(PairExample("one red circle", video(a), video(b),
                                     {"fidelity": "A" if a > b else "B", "motion": "B" if a > b else "A"}))
    return pairs


@pytest.fixture
def one_thread():
    # On a small shared CPU two torch threads spin against each other: one ran these steps ~8x faster here.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_targets_mask_the_dimensions_a_pair_was_not_judged_on():
    frames = np.zeros((9, 48, 48, 3), dtype=np.uint8)
    labels, mask = pair_targets([PairExample("x", frames, frames, {"motion": "tie"})], ("fidelity", "motion"))
    assert mask.tolist() == [[False, True]] and labels[0, 1].item() == OUTCOMES.index("tie")


def test_critic_learns_which_video_is_brighter_on_held_out_pairs(tiny_critic_dir, one_thread, tmp_path):
    rng = np.random.default_rng(0)
    train, held_out = _brightness_pairs(64, rng), _brightness_pairs(32, rng)
    torch.manual_seed(0)
    critic = PairwiseCritic.from_pretrained(str(tiny_critic_dir), ["fidelity", "motion"])
    losses = train_pairwise(critic, train, steps=40, batch_size=8, learning_rate=1e-3, seed=0).losses
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])
    score_a, score_b = score_pairs(critic, held_out)
    assert score_a.shape == (32, 2)
    for i, dimension in enumerate(critic.dimensions):
        accuracy = accuracy_without_ties(score_a[:, i], score_b[:, i], [p.labels[dimension] for p in held_out])
        assert accuracy >= 0.9, (dimension, accuracy)

    # Saved and loaded, it scores the same (backbone, head and dimensions all came back).
    loaded = PairwiseCritic.from_pretrained(critic.save(tmp_path / "saved"))
    again_a, again_b = score_pairs(loaded, held_out[:4])
    assert loaded.dimensions == ("fidelity", "motion")
    np.testing.assert_allclose(again_a, score_a[:4], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(again_b, score_b[:4], rtol=1e-5, atol=1e-6)


def test_the_questions_readout_scores_each_dimension_after_its_own_rating_question(tiny_critic_dir, tmp_path):
    import json

    from alignment.engine.critic.pairwise import META_FILE

    frames, caption = np.random.default_rng(0).integers(0, 255, size=(9, 48, 48, 3)).astype(np.uint8), "one red circle"
    torch.manual_seed(0)
    critic = PairwiseCritic.from_pretrained(str(tiny_critic_dir), ["fidelity", "motion"], readout="questions").eval()
    torch.nn.init.normal_(critic.head.weight)
    with torch.no_grad():
        scores = critic([frames], [caption])[0]
        for d, dimension in enumerate(critic.dimensions):  # the same as a one-dimension critic asking only its question
            alone = PairwiseCritic.from_pretrained(str(tiny_critic_dir), [dimension], readout="questions").eval()
            alone.head.load_state_dict({"weight": critic.head.weight[d:d + 1], "bias": critic.head.bias[d:d + 1]})
            assert alone([frames], [caption])[0, 0].item() == pytest.approx(scores[d].item(), abs=1e-5)
        caption_only = PairwiseCritic.from_pretrained(str(tiny_critic_dir), ["fidelity", "motion"]).eval()
        caption_only.head.load_state_dict(critic.head.state_dict())
        assert not torch.allclose(caption_only([frames], [caption])[0], scores)  # the question is read, not ignored

        saved = critic.save(tmp_path / "saved")
        loaded = PairwiseCritic.from_pretrained(saved).eval()
        assert loaded.readout == "questions"
        torch.testing.assert_close(loaded([frames], [caption])[0], scores)
        (saved / META_FILE).write_text(json.dumps({"dimensions": ["fidelity", "motion"]}))  # saved before readouts
        assert PairwiseCritic.from_pretrained(saved).readout == "caption"
    with pytest.raises(ValueError, match="readout must be one of"):
        PairwiseCritic.from_pretrained(str(tiny_critic_dir), ["motion"], readout="answer")


def test_with_validation_pairs_the_critic_ends_with_the_weights_of_its_best_validation(tiny_critic_dir, one_thread):
    rng = np.random.default_rng(0)
    train = _brightness_pairs(64, rng)
    # Validation judged the other way round: the better the critic learns the training pairs, the worse it does here.
    flipped = [PairExample(p.caption, p.frames_a, p.frames_b, {d: {"A": "B", "B": "A"}[v] for d, v in p.labels.items()})
               for p in _brightness_pairs(16, rng)]
    torch.manual_seed(0)
    critic = PairwiseCritic.from_pretrained(str(tiny_critic_dir), ["fidelity", "motion"])
    result = train_pairwise(critic, train, steps=40, batch_size=8, learning_rate=1e-3, seed=0, validation=flipped,
                            eval_every=10)
    assert len(result.losses) == 40 and [v["step"] for v in result.val_curve] == [10, 20, 30, 40]
    accuracies = [v["accuracy"] for v in result.val_curve]
    assert max(accuracies) > accuracies[-1]  # the choice is a real one
    assert result.best_step == result.val_curve[accuracies.index(max(accuracies))]["step"] < 40
    assert validation_accuracy(critic, flipped) == max(accuracies)  # it carries the best step's weights, not the last


def test_training_without_pairs_is_refused(tiny_critic_dir):
    with pytest.raises(ValueError, match="name the dimensions"):
        PairwiseCritic.from_pretrained(str(tiny_critic_dir))
    critic = PairwiseCritic.from_pretrained(str(tiny_critic_dir), ["fidelity"])
    with pytest.raises(ValueError, match="no pairs"):
        train_pairwise(critic, [], steps=1)


def test_world_pairs_are_labelled_by_the_truth_and_noise_changes_only_its_share():
    from alignment.engine.critic.pairwise_experiment import world_pairs
    from alignment.engine.critic.preference import outcome

    assert (outcome("Good", "Bad"), outcome("Bad", "Normal"), outcome("Normal", "Normal")) == ("A", "B", "tie")
    clean, truth = world_pairs(60, seed=3, noise=0.0, through_codec=False)
    assert [p.labels for p in clean] == truth and all(p.frames_a.shape == (9, 48, 48, 3) for p in clean)
    assert {label for t in truth for label in t.values()} == {"A", "B", "tie"}
    noisy, same_truth = world_pairs(60, seed=3, noise=0.5, through_codec=False)
    assert same_truth == truth  # the same videos and truth; only the labels trained on change
    changed = sum(p.labels[d] != t[d] for p, t in zip(noisy, truth) for d in t) / (60 * 3)
    assert 0.35 < changed < 0.65


def test_language_fine_tuning_trains_the_head_and_language_model_but_not_the_vision_tower(tiny_critic_dir, one_thread):
    from alignment.engine.critic.pairwise import preference_critic

    critic = preference_critic(str(tiny_critic_dir), ["fidelity"], finetune="language", seed=0)
    before = {n: p.detach().clone() for n, p in critic.named_parameters()}
    train_pairwise(critic, _brightness_pairs(8, np.random.default_rng(1)), steps=2, batch_size=4, seed=0)
    changed = {n for n, p in critic.named_parameters() if not torch.equal(before[n], p)}
    vision = {n for n in before if ".visual." in f".{n}"}
    assert vision and not changed & vision
    assert any("language_model" in n for n in changed) and any("visual" not in n and "language" not in n for n in changed)
    with pytest.raises(ValueError, match="finetune must be one of lora, full, language"):
        preference_critic(str(tiny_critic_dir), ["fidelity"], finetune="half")


def test_the_world_pairs_experiment_validates_on_noisy_pairs_and_reports_the_step_it_kept(tiny_critic_dir, one_thread):
    from dataclasses import replace

    from alignment.engine.critic.pairwise_experiment import PairSetup, run_pairwise_experiment

    setup = PairSetup(base=str(tiny_critic_dir), train_pairs=8, test_pairs=6, steps=4, batch_size=4,
                      through_codec=False, validation_pairs=6, eval_every=2)
    report = run_pairwise_experiment(setup)
    curve = report["validation_curve"]
    assert [point["step"] for point in curve] == [2, 4]
    best = max(curve, key=lambda point: point["accuracy"])  # the earliest of equals, as the trainer keeps
    assert report["best_step"] == best["step"]
    assert all(0.0 <= report[d]["accuracy_without_ties"] <= 1.0 for d in ("semantic", "motion", "fidelity"))
    unvalidated = run_pairwise_experiment(replace(setup, validation_pairs=0))
    assert unvalidated["validation_curve"] == [] and unvalidated["best_step"] == 4
