"""The rewards an alignment run uses, named by a small spec, so the worker and the training child build
the same one:

    {"kind": "critic", "critic_dir", "dimensions", "offload"}   the critic's expected reward (curves, scoring)
    {"kind": "critic_edit", "critic_dir", "dimensions"}         the same, differentiable in the frames (edit_reward)
    {"kind": "preference_critic", "critic_dir"}                 a Bradley–Terry critic's mean σ(score) (curves, scoring)
    {"kind": "image_text", "id_or_path"}                        a CLIP-style image-text reward per frame (edit_reward)
    {"kind": "synthetic_colour"}                                the synthetic world's colour reward (edit_reward)
"""

from __future__ import annotations


def reward_from_spec(spec: dict | None, device: str = "cpu", critic=None):
    """reward_fn(videos, prompts, metadata) for `spec` (None: none); `critic` is a loaded (model, tokenizer,
    meta) to use instead of loading spec["critic_dir"]."""
    if not spec:
        return None
    kind = spec.get("kind")
    if kind == "synthetic_colour":
        from .synthetic import colour_reward_fn

        return colour_reward_fn
    if kind == "image_text":
        from .critic.differentiable import image_text_reward

        return image_text_reward(spec["id_or_path"], device=device)
    if kind in ("critic", "critic_edit"):
        from .critic.spec import load_critic

        critic = critic or load_critic(spec["critic_dir"], device=device)
        dimensions = tuple(spec["dimensions"])
        if kind == "critic_edit":
            from .critic.differentiable import critic_edit_reward

            return critic_edit_reward(critic, dimensions, device=device)
        from .critic.score import critic_reward_fn

        return critic_reward_fn(critic, dimensions, device=device, offload=spec.get("offload"))
    if kind == "preference_critic":
        from .critic.pairwise import load_preference_critic, preference_reward_fn

        return preference_reward_fn(critic or load_preference_critic(spec["critic_dir"], device), device)
    raise ValueError(f"unknown reward kind {kind!r}")
