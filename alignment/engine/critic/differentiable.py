"""Differentiable rewards for InstructVideo-style editing (edit_reward): the trained critic itself, or an
image-text model (HPSv2 / CLIP style) given by path.

The critic's reward here is the same number the scorer computes (its expected reward: the rating words'
probabilities at the answer position times Good 0.9 / Normal 0.2 / Bad 0.05, averaged over dimensions),
but taken from decoded frames as a tensor: frames are sampled and resized with torch ops and patched
with the processor's layout (spec.patchify_tensor), so the gradient reaches the generator's decoder.
The critic's weights stay frozen.
"""

from __future__ import annotations

import numpy as np

from .loss import answer_start, rating_probs
from .questions import DIMENSIONS, RATINGS
from .questions import RATING_REWARDS
from .spec import Turn, VisionGeometry, collate_turns, patchify_tensor, rating_token_ids, user_text


def critic_edit_reward(critic, dimensions: tuple[str, ...] = DIMENSIONS, device: str = "cpu"):
    """reward_fn(videos [B, T, 3, H, W] in [0, 1], prompts, metadata) → [B], differentiable in the videos.

    Marked `whole_video`: the trainer hands it whole decoded clips (a video critic judges motion across
    frames), not the single frames an image reward scores."""
    import torch

    model, tokenizer, meta = critic
    model.requires_grad_(False)
    model.eval()
    geometry = VisionGeometry.from_config(model.config)
    rating_ids = rating_token_ids(tokenizer)
    values = torch.tensor([RATING_REWARDS[r] for r in RATINGS])
    height, width = geometry.snap(tuple(meta.frame_size))

    def reward(videos, prompts, metadata=None):
        from ..video_io import sample_frame_indices

        indices = torch.as_tensor(sample_frame_indices(videos.shape[1], meta.num_frames), device=videos.device)
        clips = videos.index_select(1, indices)  # [B, F, 3, H, W]
        if clips.shape[-2:] != (height, width):
            flat = torch.nn.functional.interpolate(clips.flatten(0, 1), size=(height, width), mode="bilinear",
                                                   align_corners=False, antialias=True)
            clips = flat.unflatten(0, clips.shape[:2])
        frames = clips.permute(0, 1, 3, 4, 2).clamp(0, 1)  # [B, F, h, w, 3]
        placeholder = np.zeros((frames.shape[1], height, width, 3), dtype=np.uint8)  # sizes the prompt only
        patches = [patchify_tensor(f, geometry) for f in frames]
        total = 0.0
        for dim in dimensions:
            turns = [Turn(placeholder, user_text(p, dim), RATINGS[0] + ".") for p in prompts]
            batch = collate_turns(tokenizer, turns, geometry, patches=patches)
            labels = batch.pop("labels")
            batch = {k: v.to(device) for k, v in batch.items()}
            logits = model(**batch).logits
            probs = rating_probs(logits, answer_start(labels).to(device), rating_ids)
            total = total + probs @ values.to(probs)
        return total / len(dimensions)

    reward.whole_video = True
    return reward


def _embedding(output):
    """The projected embedding: a tensor in older transformers, the output's pooler_output in newer ones."""
    return getattr(output, "pooler_output", output)


def image_text_reward(id_or_path: str, device: str = "cpu"):
    """reward_fn(frames [N, 1, 3, H, W] in [0, 1], prompts) → [N]: the cosine similarity of a CLIP-style
    model's image and text embeddings (HPSv2 is such a model), per frame, in [0, 1]. Differentiable in
    the frames; the model's weights stay frozen."""
    import torch
    from transformers import AutoModel, AutoTokenizer, CLIPImageProcessor

    model = AutoModel.from_pretrained(id_or_path).to(device).eval().requires_grad_(False)
    tokenizer = AutoTokenizer.from_pretrained(id_or_path)
    processor = CLIPImageProcessor.from_pretrained(id_or_path)
    size = model.config.vision_config.image_size
    mean = torch.tensor(processor.image_mean).view(1, 3, 1, 1)
    std = torch.tensor(processor.image_std).view(1, 3, 1, 1)

    def reward(frames, prompts, metadata=None):
        images = frames.flatten(0, 1)  # [N, 3, H, W]
        images = torch.nn.functional.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
        images = ((images - mean.to(images)) / std.to(images)).to(device)
        text = tokenizer(list(prompts), padding=True, truncation=True, return_tensors="pt").to(device)
        image_embeds = torch.nn.functional.normalize(_embedding(model.get_image_features(pixel_values=images)), dim=-1)
        text_embeds = torch.nn.functional.normalize(_embedding(model.get_text_features(**text)), dim=-1)
        return ((image_embeds * text_embeds).sum(-1) + 1.0) / 2.0

    return reward
