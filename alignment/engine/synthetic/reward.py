"""A reward that is a known, smooth function of the frames: how close the objects' colour is to
the colour the prompt asks for.

Definition (colours in [0, 1]):
  object weight of a pixel  w = sigmoid((|p − background| − THRESHOLD) / SOFTNESS)
  object colour             m = Σ w·p / (Σ w + ε)      over all pixels of all frames
  reward                    exp(−|m − target|² / (2·SIGMA²))  ∈ (0, 1]
`background` is the prompt's scene colour and `target` its object colour. The weight is soft so
the torch version is differentiable end to end; the numpy version computes the same number, and
learning tests can check a model moved towards it. Clean renders score close to 1 (the circles'
marker dot pulls it slightly down), wrong colours score low, heavy noise lowers it too.
"""

from __future__ import annotations

import numpy as np

from .grammar import COLOURS, SCENES, SceneSpec, parse_prompt

THRESHOLD = 0.2
SOFTNESS = 0.03
SIGMA = 0.2
EPSILON = 1e-6


def prompt_colours(spec: SceneSpec) -> tuple[np.ndarray, np.ndarray]:
    """(target object colour, background colour) in [0, 1]."""
    return np.array(COLOURS[spec.colour]) / 255.0, np.array(SCENES[spec.scene]) / 255.0


def colour_reward(frames: np.ndarray, spec: SceneSpec) -> float:
    """Reward of uint8 frames [T, H, W, 3] for `spec` (numpy; see the module docstring)."""
    target, background = prompt_colours(spec)
    pixels = frames.reshape(-1, 3).astype(np.float64) / 255.0
    distance = np.linalg.norm(pixels - background, axis=-1)
    weight = 1.0 / (1.0 + np.exp(-(distance - THRESHOLD) / SOFTNESS))
    mean_colour = (weight[:, None] * pixels).sum(0) / (weight.sum() + EPSILON)
    return float(np.exp(-np.sum((mean_colour - target) ** 2) / (2 * SIGMA**2)))


def colour_reward_torch(video, targets, backgrounds):
    """Differentiable reward per video.

    video: float [B, T, 3, H, W] in [0, 1] (a diffusers pipeline's output_type="pt" layout);
    targets, backgrounds: [B, 3] in [0, 1]. Returns [B].
    """
    import torch

    pixels = video.movedim(2, -1).reshape(video.shape[0], -1, 3)
    distance = torch.linalg.vector_norm(pixels - backgrounds[:, None, :], dim=-1)
    weight = torch.sigmoid((distance - THRESHOLD) / SOFTNESS)
    mean_colour = (weight[..., None] * pixels).sum(1) / (weight.sum(1, keepdim=True) + EPSILON)
    return torch.exp(-((mean_colour - targets) ** 2).sum(-1) / (2 * SIGMA**2))


def colour_reward_fn(videos, prompts: list[str], metadata=None):
    """Reward callable in the trainer's shape: reward_fn(videos [B, T, 3, H, W], prompts) -> [B]."""
    import torch

    pairs = [prompt_colours(parse_prompt(prompt)) for prompt in prompts]
    targets = torch.tensor(np.stack([t for t, _ in pairs]), dtype=videos.dtype, device=videos.device)
    backgrounds = torch.tensor(np.stack([b for _, b in pairs]), dtype=videos.dtype, device=videos.device)
    return colour_reward_torch(videos, targets, backgrounds)
