"""Differentiable rewards for edit_reward: the critic's expected reward taken through decoded frames (the
same number the scorer gives, with a gradient that reaches the frames), and a CLIP-style image-text reward
loaded by path."""

import numpy as np
import pytest
import torch

from alignment.engine.critic.data import ScoreItem
from alignment.engine.critic.differentiable import critic_edit_reward, image_text_reward
from alignment.engine.critic.score import score_videos
from alignment.engine.critic.spec import load_critic

PROMPTS = ["two red circles bouncing on grass", "one blue square spinning in a blue sky"]


def test_critic_reward_is_the_scorers_and_its_gradient_reaches_the_frames(tiny_critic_dir):
    critic = load_critic(tiny_critic_dir)
    videos = torch.rand(2, 9, 3, 48, 48, requires_grad=True)
    rewards = critic_edit_reward(critic)(videos, PROMPTS)
    rewards.sum().backward()
    assert videos.grad is not None and videos.grad.abs().sum() > 0
    assert all(p.grad is None for p in critic[0].parameters())  # the critic stays frozen
    frames = (videos.detach().permute(0, 1, 3, 4, 2) * 255).round().to(torch.uint8).numpy()
    scored = score_videos(None, [ScoreItem(f, p) for f, p in zip(frames, PROMPTS)], critic=critic)
    assert rewards.detach().numpy() == pytest.approx([s.reward for s in scored], abs=2e-3)


def test_critic_reward_resizes_and_samples_like_the_scorer(tiny_critic_dir):
    critic = load_critic(tiny_critic_dir)
    videos = torch.rand(1, 13, 3, 64, 64)  # another clip geometry: frames sampled, resized to the critic's
    assert 0.05 <= float(critic_edit_reward(critic)(videos, PROMPTS[:1])) <= 0.9


def test_image_text_reward_by_path_has_gradients(tmp_path):
    from alignment.engine.tiny import build_tiny_clip

    reward = image_text_reward(str(build_tiny_clip(tmp_path / "clip")))
    frames = torch.rand(4, 1, 3, 48, 48, requires_grad=True)
    values = reward(frames, PROMPTS * 2)
    values.sum().backward()
    assert values.shape == (4,) and bool(((values >= 0) & (values <= 1)).all())
    assert frames.grad.abs().sum() > 0
    assert not np.allclose(values.detach().numpy()[0], values.detach().numpy()[1])
