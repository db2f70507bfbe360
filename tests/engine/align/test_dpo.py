"""Diffusion-DPO: the loss on hand-made numbers, and dpo runs on the tiny CogVideoX (reference = adapter off)."""

import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from alignment.engine.align import AlignConfigError, PreferencePair, ScoredSample, VideoSource, align, latest_checkpoint
from alignment.engine.align import objectives as obj
from alignment.engine.synthetic import colour_reward_fn

from .conftest import world_clip


def test_at_policy_equal_reference_the_loss_is_log_2_and_the_margin_0():
    losses = torch.tensor([0.3, 0.7, 1.1])
    other = torch.tensor([0.5, 0.2, 0.9])
    assert obj.dpo_margin(losses, other, losses, other, beta=500.0).tolist() == [0.0, 0.0, 0.0]
    assert obj.dpo_loss(obj.dpo_margin(losses, other, losses, other, beta=500.0)).item() == pytest.approx(math.log(2))


def test_improving_the_winner_relative_to_the_reference_lowers_the_loss():
    reference_w, reference_l = torch.tensor([0.50]), torch.tensor([0.50])

    def loss(policy_w, policy_l):
        return obj.dpo_loss(obj.dpo_margin(policy_w, policy_l, reference_w, reference_l, beta=100.0))

    at_init = loss(reference_w, reference_l)
    better_winner = loss(torch.tensor([0.49]), reference_l)
    worse_loser = loss(reference_w, torch.tensor([0.51]))
    worse_winner = loss(torch.tensor([0.51]), reference_l)
    assert better_winner < at_init and worse_loser < at_init and worse_winner > at_init
    # By hand: margin = −β/2·((0.49 − 0.5) − 0) = 0.5, loss = −log σ(0.5) = log(1 + e^−0.5).
    assert better_winner.item() == pytest.approx(math.log1p(math.exp(-0.5)), rel=1e-5)


def test_the_loss_stays_finite_for_huge_margins_and_its_gradient_points_the_right_way():
    policy_w = torch.tensor([0.2, 0.9], requires_grad=True)
    policy_l = torch.tensor([0.9, 0.2], requires_grad=True)
    reference = torch.tensor([0.5, 0.5])
    loss = obj.dpo_loss(obj.dpo_margin(policy_w, policy_l, reference, reference, beta=1e6))
    loss.backward()
    assert torch.isfinite(loss) and loss.item() > 1e4  # pair 2 is ranked the wrong way by a huge margin
    assert policy_w.grad[1] > 0 and policy_l.grad[1] < 0  # descent lowers the winner's loss, raises the loser's


# ---------------------------------------------------------------------------------------------
# On the tiny CogVideoX


@pytest.fixture(scope="module")
def pairs(world_prompts):
    # The clean render of a prompt is preferred to a defective one of the same prompt.
    return [
        PreferencePair(prompt=p, preferred=VideoSource(frames=world_clip(p, i)), rejected=VideoSource(frames=world_clip(p, i + 50, clean=False)))
        for i, p in enumerate(world_prompts[:4])
    ]


def _dpo(tiny_config, **overrides):
    return tiny_config(objective="dpo", real_weight=0.0, **overrides)


def test_dpo_trains_logs_and_writes_a_lora(tiny_config, pairs):
    logged = []
    result = align(_dpo(tiny_config, steps=4, learning_rate=1e-2), [], pairs=pairs,
                   on_progress=lambda f, phase, m: logged.append(m) if phase == "training" else None)
    assert len(result.losses) == 4 and all(np.isfinite(result.losses))
    assert [m["step"] for m in logged] == [1, 2, 3, 4] and all("reward_margin" in m for m in logged)
    # Step 1 runs before any update: a zero-initialised LoRA is the reference exactly, so margin 0 and loss log 2.
    assert logged[0]["reward_margin"] == 0.0 and result.losses[0] == pytest.approx(math.log(2), abs=1e-6)
    # Once the adapter has moved the policy differs from its reference (the adapter really is switched off there).
    assert any(m["reward_margin"] != 0.0 for m in logged[1:])
    weights = load_file(str(result.final_dir / "pytorch_lora_weights.safetensors"))
    assert any(v.abs().sum() > 0 for k, v in weights.items() if "lora_B" in k)  # the adapter was re-enabled and trained
    assert result.weight_info == {"pairs": 4}


def test_the_reference_is_the_base_without_the_adapter(tiny_config, pairs, tiny_lora_dir):
    # Starting from a non-zero LoRA, the policy (base + LoRA) already differs from the reference (base alone)
    # before the first update; a reference that kept the adapter on would give margin 0 here.
    logged = []
    align(_dpo(tiny_config, steps=1, lora_init=str(tiny_lora_dir)), [], pairs=pairs,
          on_progress=lambda f, phase, m: logged.append(m) if phase == "training" else None)
    assert logged[0]["reward_margin"] != 0.0


def test_dpo_after_a_fine_tune_takes_the_starting_adapter_as_its_reference(tiny_config, pairs, tiny_lora_dir):
    # SFT then DPO: with dpo_reference "start" the reference is base + the starting LoRA, so before any update
    # policy and reference are the same model (margin 0, loss log 2), unlike the base reference above.
    logged = []
    result = align(_dpo(tiny_config, steps=3, lora_init=str(tiny_lora_dir), dpo_reference="start"), [], pairs=pairs,
                   on_progress=lambda f, phase, m: logged.append(m) if phase == "training" else None)
    assert logged[0]["reward_margin"] == 0.0 and result.losses[0] == pytest.approx(math.log(2), abs=1e-6)
    assert any(m["reward_margin"] != 0.0 for m in logged[1:])  # the trained adapter moved, the reference did not
    saved = load_file(str(result.final_dir / "pytorch_lora_weights.safetensors"))
    started = load_file(str(tiny_lora_dir / "pytorch_lora_weights.safetensors"))
    assert saved.keys() == started.keys()  # one adapter out: the frozen reference is not saved
    assert any(not torch.equal(saved[k], started[k]) for k in saved)


def test_a_resumed_dpo_run_matches_an_uninterrupted_one(tiny_config, pairs, tmp_path):
    full = align(_dpo(tiny_config, output_dir=str(tmp_path / "full"), steps=4, checkpoint_every=2), [], pairs=pairs)
    part = tmp_path / "part"
    align(_dpo(tiny_config, output_dir=str(part), steps=2, checkpoint_every=2), [], pairs=pairs)
    assert latest_checkpoint(part).name == "checkpoint-2"
    resumed = align(_dpo(tiny_config, output_dir=str(part), steps=4, checkpoint_every=2, resume="latest"), [], pairs=pairs)
    assert resumed.losses == pytest.approx(full.losses, abs=0, rel=0)


@pytest.mark.parametrize(
    "overrides, kind, match",
    [
        (dict(lora_rank=None), "pairs", "dpo needs LoRA training"),
        (dict(), "none", "dpo needs preference pairs"),
        (dict(), "samples", "pairs only"),
        (dict(dpo_beta=0.0), "pairs", "dpo_beta must be positive"),
        (dict(dpo_reference="start"), "pairs", "dpo_reference 'start' needs lora_init"),
        (dict(dpo_reference="sft"), "pairs", "dpo_reference must be one of"),
        (dict(objective="reward_weighted"), "pairs_and_samples", "only used by objective 'dpo'"),
    ],
)
def test_bad_dpo_input_is_refused_before_any_work(tiny_config, pairs, overrides, kind, match, tmp_path):
    sample = ScoredSample(prompt="a red circle", frames=pairs[0].preferred.frames, reward=0.5)
    samples = [sample] if kind in ("samples", "pairs_and_samples") else []
    config = tiny_config(**{"objective": "dpo", "real_weight": 0.0, **overrides})
    with pytest.raises(AlignConfigError, match=match):
        align(config, samples, pairs=[] if kind == "none" else pairs, reward_fn=colour_reward_fn)
    assert not (tmp_path / "run").exists()


def test_a_pair_with_two_video_sources_on_one_side_is_refused(tiny_config, pairs):
    frames = pairs[0].preferred.frames
    broken = PreferencePair(prompt="a red circle", preferred=VideoSource(frames=frames, video_path="x.mp4"), rejected=VideoSource(frames=frames))
    with pytest.raises(AlignConfigError, match="pair 0 \\(preferred\\) needs exactly one"):
        align(_dpo(tiny_config), [], pairs=[broken])


def test_pairs_from_scores_take_the_best_and_worst_sample_of_each_prompt():
    from alignment.engine.align import pairs_from_scores

    latents = [torch.full((1,), float(i)) for i in range(5)]
    samples = [
        ScoredSample(prompt="a", latents=latents[0], reward=0.2),
        ScoredSample(prompt="b", latents=latents[1], reward=0.5),
        ScoredSample(prompt="a", latents=latents[2], reward=0.9),
        ScoredSample(prompt="a", latents=latents[3], reward=0.4),
        ScoredSample(prompt="b", latents=latents[4], reward=0.5),  # a tie: no preference, no pair
    ]
    pairs = pairs_from_scores(samples)
    assert [(p.prompt, p.preferred.latents.item(), p.rejected.latents.item()) for p in pairs] == [("a", 2.0, 0.0)]
    assert pairs_from_scores(samples, min_gap=0.8) == []
    with pytest.raises(ValueError, match="no reward"):
        pairs_from_scores([ScoredSample(prompt="a", latents=latents[0])])


@pytest.mark.parametrize("reference", ["base", "start"])
def test_a_dpo_job_on_two_processes_matches_one_in_process(tiny_base, pairs, tmp_path, reference, tiny_lora_dir):
    # The child path the align job uses (spec → run_training) on 2 processes × 1 pair against one process × 2 pairs:
    # noise and timesteps are drawn for the global batch, so the losses agree up to float32 rounding, which the
    # margin multiplies by β/2 = 250 (hence 1e-4, not the 1e-5 of the other objectives). "start": the reference is
    # a second, frozen adapter switched in on every rank (DPO after a fine-tune).
    from alignment.engine.align import AlignConfig
    from alignment.engine.launch import run_child, training_command, write_spec
    from alignment.engine.video_io import encode_video

    from .conftest import TINY

    rows = []
    for i, pair in enumerate(pairs):
        paths = [tmp_path / f"{i}-{side}.mp4" for side in ("w", "l")]
        for path, source in zip(paths, (pair.preferred, pair.rejected)):
            encode_video(source.frames, path, fps=8)
        rows.append({"prompt": pair.prompt, "preferred": {"video_path": str(paths[0])}, "rejected": {"video_path": str(paths[1])}})

    def config(out, batch_size):
        return dict(base=tiny_base, output_dir=str(out), objective="dpo", steps=3, batch_size=batch_size, real_weight=0.0,
                    lora_rank=4, learning_rate=1e-2, checkpoint_every=0, seed=3, dpo_reference=reference,
                    lora_init=str(tiny_lora_dir) if reference == "start" else None, **TINY)

    margins_one, margins_two = [], []
    one = align(AlignConfig.from_dict(config(tmp_path / "one", 2)), [], pairs=[
        PreferencePair(r["prompt"], VideoSource(**r["preferred"]), VideoSource(**r["rejected"])) for r in rows],
        on_progress=lambda f, phase, m: margins_one.append(m["reward_margin"]) if phase == "training" else None)
    spec = write_spec(tmp_path / "two" / "spec.json", {"kind": "align", "config": config(tmp_path / "two", 1), "pairs": rows})
    two = run_child(training_command(spec, 2), env={"ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"},
                    on_event=lambda e: margins_two.append(e["metrics"]["reward_margin"]) if e["phase"] == "training" else None)
    assert len(two["losses"]) == 3 and two["weight_info"] == {"pairs": 4}
    np.testing.assert_allclose(two["losses"], one.losses, rtol=1e-4)
    np.testing.assert_allclose(margins_two, margins_one, rtol=1e-3, atol=1e-5)  # averaged over both ranks' pairs
    assert abs(one.losses[-1] - one.losses[0]) > 1e-3  # the policy moved off its reference: the steps compare something


def test_dpo_validates_on_held_out_prompts_like_the_other_objectives(tiny_config, pairs, world_prompts):
    result = align(_dpo(tiny_config, steps=2, validation_every=1), [], pairs=pairs, reward_fn=colour_reward_fn,
                   validation_prompts=world_prompts[9:11])
    assert [v["step"] for v in result.validation] == [0, 1, 2]
    assert all(np.isfinite(v["mean_reward"]) for v in result.validation)
