"""Training: config checks, loss falls and parameters change, exact resume, checkpoints, export."""

import json

import pytest
import torch

from alignment.engine.critic.export import export_critic
from alignment.engine.critic.questions import CriticDataError
from alignment.engine.critic.synthetic_data import annotated_examples, truth_examples
from alignment.engine.critic.train import CriticTrainConfig, _checkpoints, batch_indices, is_better, train_critic


def _config(base, **overrides):
    values = dict(base=str(base), num_frames=4, batch_size=4, max_steps=8, learning_rate=2e-3, eval_every=4,
                  eval_batch_size=8, warmup_ratio=0.0, num_threads=1, seed=1)
    values.update(overrides)
    return CriticTrainConfig(**values)


def test_config_validate_lists_problems():
    with pytest.raises(ValueError, match="base is required.*finetune must be one of lora, full, language"):
        CriticTrainConfig(finetune="qlora").validate()
    assert "learning_rate" in CriticTrainConfig.help()


def test_batches_walk_epochs_deterministically():
    first, epoch, cursor = batch_indices(5, 0, 0, 3, seed=0, weights=None)
    second, epoch, cursor = batch_indices(5, epoch, cursor, 3, seed=0, weights=None)
    assert (epoch, cursor) == (1, 1) and sorted(first + second[:2]) == [0, 1, 2, 3, 4]
    assert batch_indices(5, 0, 0, 3, seed=0, weights=None)[0] == first


def test_lora_training_lowers_loss_and_writes_critic(tiny_critic_dir, synthetic_small, tmp_path):
    train = annotated_examples(synthetic_small[:4], noise=0.0)
    val = truth_examples(synthetic_small[4:])
    events = []
    result = train_critic(_config(tiny_critic_dir, max_steps=12, eval_every=6), train, val, tmp_path,
                          lambda f, phase, m: events.append((f, phase, m)))
    losses = [loss for _, loss in result.loss_curve]
    assert len(losses) == 12 and sum(losses[-3:]) / 3 < sum(losses[:3]) / 3
    assert events[0][1] == "prepare" and events[-1][1] == "done"
    assert any("loss_curve" in m for _, phase, m in events if phase == "train")
    assert [f for f, phase, _ in events if phase == "train"] == sorted(f for f, phase, _ in events if phase == "train")
    assert (result.critic_dir / "adapter" / "adapter_config.json").exists()
    meta = json.loads((result.critic_dir / "lift_critic.json").read_text())
    assert meta["num_frames"] == 4 and meta["origin"] == "trained"
    from transformers import AutoModelForImageTextToText

    trained = AutoModelForImageTextToText.from_pretrained(result.critic_dir)
    base = AutoModelForImageTextToText.from_pretrained(tiny_critic_dir)
    changed = [n for n, p in trained.named_parameters() if not torch.equal(p, dict(base.named_parameters())[n])]
    assert changed and all("language_model" in n or "lm_head" in n for n in changed)  # vision stays frozen

    exported = export_critic(tmp_path, tmp_path / "export-adapter", merged=False, data_description="synthetic")
    assert "peft" in (exported / "README.md").read_text()
    from alignment.engine.critic.spec import load_critic

    model, _, meta = load_critic(exported)
    assert meta.adapter
    for name, param in model.named_parameters():
        torch.testing.assert_close(param, dict(trained.named_parameters())[name])


def test_language_fine_tuning_trains_the_language_model_and_leaves_the_vision_tower_as_it_was(
        tiny_critic_dir, synthetic_small, tmp_path):
    from transformers import AutoModelForImageTextToText

    train = annotated_examples(synthetic_small[:4], noise=0.0)
    result = train_critic(_config(tiny_critic_dir, finetune="language", max_steps=4), train,
                          truth_examples(synthetic_small[4:]), tmp_path)
    trained = dict(AutoModelForImageTextToText.from_pretrained(result.critic_dir).named_parameters())
    base = dict(AutoModelForImageTextToText.from_pretrained(tiny_critic_dir).named_parameters())
    changed = {n for n in base if not torch.equal(base[n], trained[n])}
    vision = {n for n in base if ".visual." in f".{n}"}
    assert vision and not changed & vision  # the tower and its merger, bit for bit
    assert any("language_model" in n for n in changed) and not (result.critic_dir / "adapter").exists()


class Crash(Exception):
    pass


@pytest.mark.parametrize("ema_decay", [0.0, 0.9])
def test_resume_matches_uninterrupted_run(tiny_critic_dir, synthetic_small, tmp_path, ema_decay):
    train = annotated_examples(synthetic_small[:4], noise=0.0)
    val = truth_examples(synthetic_small[4:])
    config = _config(tiny_critic_dir, finetune="full", checkpoint_every=3, checkpoints_to_keep=2, balance="sampler",
                     ema_decay=ema_decay)
    full = train_critic(config, train, val, tmp_path / "full")

    def crash_at_step_7(fraction, phase, metrics):
        if phase == "train" and metrics["step"] == 7:
            raise Crash()

    with pytest.raises(Crash):
        train_critic(config, train, val, tmp_path / "resumed", crash_at_step_7)
    assert [step for step, _ in _checkpoints(tmp_path / "resumed")] == [3, 6]  # rotated, step 7 not saved
    resumed = train_critic(config, train, val, tmp_path / "resumed")
    assert resumed.resumed_from == 6
    assert resumed.loss_curve == full.loss_curve
    assert [v["accuracy"] for v in resumed.val_curve] == [v["accuracy"] for v in full.val_curve]
    from safetensors.torch import load_file

    weights_full = load_file(tmp_path / "full" / "critic" / "model.safetensors")
    weights_resumed = load_file(tmp_path / "resumed" / "critic" / "model.safetensors")
    for name in weights_full:
        assert torch.equal(weights_full[name], weights_resumed[name]), name
    assert not list((tmp_path / "resumed").glob(".tmp-*"))


def test_a_checkpoint_written_without_an_average_resumes_with_one_started_from_its_weights(
        tiny_critic_dir, synthetic_small, tmp_path):
    train, val = annotated_examples(synthetic_small[:4], noise=0.0), truth_examples(synthetic_small[4:])

    def crash_at_step_5(fraction, phase, metrics):
        if phase == "train" and metrics["step"] == 5:
            raise Crash()

    with pytest.raises(Crash):
        train_critic(_config(tiny_critic_dir, finetune="language", checkpoint_every=4), train, val, tmp_path,
                     crash_at_step_5)
    resumed = train_critic(_config(tiny_critic_dir, finetune="language", checkpoint_every=4, ema_decay=0.9), train,
                           val, tmp_path)
    assert resumed.resumed_from == 4 and resumed.steps == 8
    assert (tmp_path / "checkpoint-8" / "average.pt").is_file()


def test_early_stopping(tiny_critic_dir, synthetic_small, tmp_path):
    train = annotated_examples(synthetic_small[:2], noise=0.0)
    config = _config(tiny_critic_dir, max_steps=40, eval_every=1, patience=2, learning_rate=1e-6)
    result = train_critic(config, train, truth_examples(synthetic_small[4:5]), tmp_path)
    assert result.stopped_early and result.steps < 40


def test_the_weights_kept_are_those_of_the_best_validation_accuracy(tiny_critic_dir, synthetic_small, tmp_path):
    # Accuracy first; the rating NLL only breaks a tie, and only by more than min_delta.
    assert is_better({"accuracy": 0.9, "rating_nll": 0.50}, {"accuracy": 0.5, "rating_nll": 0.40})
    assert not is_better({"accuracy": 0.5, "rating_nll": 0.40}, {"accuracy": 0.9, "rating_nll": 0.50})
    assert is_better({"accuracy": 0.9, "rating_nll": 0.40}, {"accuracy": 0.9, "rating_nll": 0.50}, min_delta=1e-3)
    assert not is_better({"accuracy": 0.9, "rating_nll": 0.4995}, {"accuracy": 0.9, "rating_nll": 0.50}, min_delta=1e-3)
    train = annotated_examples(synthetic_small[:4], noise=0.0)
    config = _config(tiny_critic_dir, max_steps=10, eval_every=1)
    result = train_critic(config, train, truth_examples(synthetic_small[4:]), tmp_path)
    accuracies = [v["accuracy"] for v in result.val_curve]
    assert len(accuracies) == 10 and len(set(accuracies)) > 1  # the accuracy moved, so the choice is a real one
    kept = next(v for v in result.val_curve if v["step"] == result.best_step)
    assert kept["accuracy"] == result.best_metrics["accuracy"] == max(accuracies)


def test_with_ema_decay_the_weights_validated_and_kept_are_the_moving_average_of_each_steps(
        tiny_critic_dir, synthetic_small, tmp_path):
    from transformers import AutoModelForImageTextToText

    from alignment.engine.critic.spec import freeze_vision

    train = annotated_examples(synthetic_small[:4], noise=0.0)
    config = _config(tiny_critic_dir, finetune="language", max_steps=5, eval_every=0, checkpoint_every=1,
                     checkpoints_to_keep=5, ema_decay=0.5)
    result = train_critic(config, train, truth_examples(synthetic_small[4:]), tmp_path)
    # The average by hand: from the base's weights, each step's own weights (its checkpoint) folded in.
    base = AutoModelForImageTextToText.from_pretrained(tiny_critic_dir)
    freeze_vision(base)
    expected = {n: p.detach().clone() for n, p in base.named_parameters() if p.requires_grad}
    for step in range(1, 6):
        weights = torch.load(tmp_path / f"checkpoint-{step}" / "trainable.pt")
        keep = min(0.5, step / (9 + step))
        expected = {n: keep * value + (1 - keep) * weights[n] for n, value in expected.items()}
    kept = dict(AutoModelForImageTextToText.from_pretrained(result.critic_dir).named_parameters())
    last = torch.load(tmp_path / "checkpoint-5" / "trainable.pt")
    assert any(not torch.allclose(kept[n], last[n]) for n in expected)  # not the last step's own weights
    for name, value in expected.items():
        torch.testing.assert_close(kept[name], value, msg=name)


def test_bad_data_refused_before_training(tiny_critic_dir, synthetic_small, tmp_path):
    train = annotated_examples(synthetic_small[:1])
    with pytest.raises(CriticDataError, match="validation split is empty"):
        train_critic(_config(tiny_critic_dir), train, [], tmp_path)
    train[0].dimension = "aesthetics"
    with pytest.raises(CriticDataError, match="unknown dimension"):
        train_critic(_config(tiny_critic_dir), train, train, tmp_path)
    assert not (tmp_path / "critic").exists()
