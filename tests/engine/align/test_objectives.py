"""Fast checks of the pure objective functions against hand-computed numbers."""

import math

import pytest
import torch

from alignment.engine.align import objectives as obj


def test_lift_weight_is_mean_of_mapped_ratings():
    assert obj.lift_weight({"semantic": "Good", "motion": "Good", "fidelity": "Good"}) == pytest.approx(0.9)
    assert obj.lift_weight({"semantic": "Good", "motion": "Normal", "fidelity": "Bad"}) == pytest.approx((0.9 + 0.2 + 0.05) / 3)
    with pytest.raises(ValueError):
        obj.lift_weight({"semantic": "Great"})


def test_rejection_mask_needs_good_on_every_dimension():
    ratings = [
        {"semantic": "Good", "motion": "Good", "fidelity": "Good"},
        {"semantic": "Good", "motion": "Normal", "fidelity": "Good"},
        {"semantic": "Bad", "motion": "Good", "fidelity": "Good"},
    ]
    weights, _ = obj.sample_weights("rejection", None, ratings)
    assert weights.tolist() == [1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="rejection has nothing"):
        obj.sample_weights("rejection", None, ratings[1:])


def test_rejection_from_scalar_rewards_uses_the_quantile():
    weights, _ = obj.sample_weights("rejection", [0.1, 0.9, 0.5, 0.3], None, good_quantile=0.75)
    assert weights.tolist() == [0.0, 1.0, 0.0, 0.0]


def test_v_to_x0_matches_diffusers_get_velocity():
    from diffusers import CogVideoXDDIMScheduler

    scheduler = CogVideoXDDIMScheduler()
    v, x_t = torch.randn(2, 3, 4, 2, 2), torch.randn(2, 3, 4, 2, 2)
    t = torch.tensor([10, 900])
    expected = scheduler.get_velocity(v, x_t, t)
    assert torch.allclose(obj.v_to_x0(v, x_t, scheduler.alphas_cumprod[t]), expected, atol=1e-6)


def test_diffusion_loss_is_weighted_by_one_over_one_minus_alpha_bar():
    x0 = torch.zeros(2, 1, 1, 1, 2)
    pred = torch.tensor([1.0, 1.0, 2.0, 0.0]).reshape(2, 1, 1, 1, 2)
    alphas = torch.tensor([0.5, 0.75])
    loss = obj.diffusion_loss_per_sample(pred, x0, alphas)
    # sample 0: mean(1, 1) / 0.5 = 2; sample 1: mean(4, 0) / 0.25 = 8
    assert loss.tolist() == pytest.approx([2.0, 8.0])


def test_reward_weighted_mixes_generated_and_real_terms():
    per_sample = torch.tensor([1.0, 2.0, 3.0, 5.0])
    weights = torch.tensor([0.9, 0.05, 1.0, 1.0])
    is_real = torch.tensor([False, False, True, True])
    # mean(0.9·1, 0.05·2) + λ·mean(3, 5) = 0.5 + 2·4
    assert obj.reward_weighted(per_sample, weights, is_real, real_weight=2.0).item() == pytest.approx(0.5 + 8.0)
    assert obj.reward_weighted(per_sample, weights, is_real, real_weight=0.0).item() == pytest.approx(0.5)
    assert obj.rejection(per_sample, torch.tensor([1.0, 0.0, 1, 1]), is_real, 1.0).item() == pytest.approx(0.5 + 4.0)


def test_softmax_weights_mean_one_and_ess_floor():
    rewards = torch.tensor([0.0, 0.0, 0.0, 10.0])
    weights, tau = obj.softmax_weights(rewards, temperature=10.0, standardise=False)
    expected = torch.softmax(rewards / 10.0, 0) * 4
    assert torch.allclose(weights, expected.float()) and tau == 10.0
    # At τ = 0.01 one sample takes everything (ESS ≈ 1); the floor raises τ until ESS ≥ 0.5·n.
    weights, tau = obj.softmax_weights(rewards, temperature=0.01, min_ess_fraction=0.5, standardise=False)
    assert tau > 0.01
    assert obj.effective_sample_size(weights).item() == pytest.approx(2.0, rel=1e-3)
    assert weights.mean().item() == pytest.approx(1.0)


def test_topk_keeps_the_best_fraction():
    weights = obj.topk_weights(torch.tensor([0.1, 0.9, 0.5, 0.3]), 0.5)
    assert weights.tolist() == [0.0, 2.0, 2.0, 0.0]


def test_temporal_attenuation_weights_by_hand():
    weights = obj.temporal_attenuation_weights(torch.tensor([0, 4, 8]), num_frames=8, attenuation=1.0)
    raw = [math.exp(-4), 1.0, math.exp(-4)]
    assert weights.tolist() == pytest.approx([r / sum(raw) for r in raw], rel=1e-5)
    flat = obj.temporal_attenuation_weights(torch.tensor([0, 3]), num_frames=8, attenuation=0.0)
    assert flat.tolist() == pytest.approx([0.5, 0.5])


def test_segment_frames_one_per_segment():
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        indices = obj.segment_frame_indices(16, 4, generator)
        assert [int(i) // 4 for i in indices] == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        obj.segment_frame_indices(3, 4)


def test_edit_reward_loss():
    rewards = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    assert obj.edit_reward_loss(rewards, torch.tensor([0.75, 0.25])).item() == pytest.approx(1 - (0.75 + 0.5) / 2)


def test_per_prompt_weights_choose_among_a_prompts_own_samples():
    from alignment.engine.align.config import AlignConfig, AlignConfigError
    from alignment.engine.align.data import ScoredSample
    from alignment.engine.align.inputs import sample_weights_for

    # Prompt "a" has the two best rewards of the pool, "b" the two worst: pooled top-half weighting keeps only "a".
    samples = [ScoredSample("a", reward=r) for r in (0.9, 0.8)] + [ScoredSample("b", reward=r) for r in (0.2, 0.1)]
    config = AlignConfig(base="m", output_dir="o", weighting="topk", top_fraction=0.5)
    pooled, _ = sample_weights_for(config, samples)
    assert pooled.tolist() == [2.0, 2.0, 0.0, 0.0]
    per_prompt, info = sample_weights_for(AlignConfig(**{**config.to_dict(), "per_prompt": True}), samples)
    assert per_prompt.tolist() == [2.0, 0.0, 2.0, 0.0] and info["prompts"] == 2  # best of each prompt
    # LiFT's weights keep their ratio within a prompt and are brought to mean 1 in each.
    lift, _ = sample_weights_for(AlignConfig(base="m", output_dir="o", per_prompt=True), samples)
    assert lift[:2].mean().item() == pytest.approx(1.0) and lift[0] / lift[1] == pytest.approx(0.9 / 0.8)
    with pytest.raises(AlignConfigError, match="per_prompt"):
        AlignConfig(base="m", output_dir="o", objective="rejection", per_prompt=True).validate()
