"""Trainer behaviour on the tiny CogVideoX: refusals before work, cache, checkpoints, exact resume, LoRA."""

import json

import numpy as np
import pytest
import torch

from alignment.engine.align import AlignConfigError, RealClip, ScoredSample, align, latest_checkpoint, list_checkpoints
from alignment.engine.synthetic import colour_reward_fn

from .conftest import world_clip


@pytest.fixture(scope="module")
def scored(world_prompts):
    rng = np.random.default_rng(1)
    return [
        ScoredSample(prompt=p, frames=world_clip(p, i, clean=False), reward=float(rng.uniform()))
        for i, p in enumerate(world_prompts[:6])
    ]


@pytest.fixture(scope="module")
def real(world_prompts):
    return [RealClip(prompt=p, frames=world_clip(p, 100 + i)) for i, p in enumerate(world_prompts[6:9])]


@pytest.mark.parametrize(
    "overrides, samples_kind, match",
    [
        (dict(frames=10), "ok", "8k\\+1"),
        (dict(height=40), "ok", "multiples of 16"),
        (dict(max_sequence_length=226), "ok", "max_sequence_length must be 16"),
        (dict(), "unscored", "no reward or ratings"),
        (dict(), "none", "no generated samples"),
        (dict(real_weight=1.0), "no_real", "real corpus is empty"),
        (dict(objective="edit_reward"), "no_reward_fn", "differentiable reward_fn"),
        (dict(objective="sft"), "ok", "objective must be"),
    ],
)
def test_bad_input_is_refused_before_any_work(tiny_config, scored, real, overrides, samples_kind, match, tmp_path):
    config = tiny_config(**overrides)
    samples = {"ok": scored, "unscored": [ScoredSample(prompt="a red circle", frames=scored[0].frames)], "none": []}.get(samples_kind, scored)
    with pytest.raises(AlignConfigError, match=match):
        align(config, samples, [] if samples_kind == "no_real" else real, reward_fn=None if samples_kind == "no_reward_fn" else colour_reward_fn)
    assert not (tmp_path / "run").exists()  # nothing was written: refused before work


def test_lora_for_another_base_is_refused(tiny_config, scored, real, tmp_path):
    from alignment.engine.tiny import build_tiny_cogvideox, build_tiny_cogvideox_lora
    import shutil

    other = build_tiny_cogvideox(tmp_path / "other")
    config = json.loads((other / "transformer" / "config.json").read_text())
    config.update(num_attention_heads=2)  # another width (2×8 = 16 instead of 32)
    (other / "transformer" / "config.json").write_text(json.dumps(config))
    shutil.rmtree(other / "transformer")
    from diffusers import CogVideoXTransformer3DModel

    CogVideoXTransformer3DModel(**{k: v for k, v in config.items() if not k.startswith("_")}).save_pretrained(other / "transformer")
    lora = build_tiny_cogvideox_lora(other, tmp_path / "other-lora")
    with pytest.raises(AlignConfigError, match="another base"):
        align(tiny_config(lora_init=str(lora)), scored, real, reward_fn=colour_reward_fn)


def _trainable(result_dir):
    from safetensors.torch import load_file

    return load_file(str(result_dir / "pytorch_lora_weights.safetensors"))


def test_interrupted_and_resumed_run_matches_uninterrupted(tiny_config, scored, real, tmp_path):
    progress = []
    full = align(
        tiny_config(output_dir=str(tmp_path / "full"), steps=6, checkpoint_every=2, keep_checkpoints=2, real_weight=1.0),
        scored, real, on_progress=lambda f, phase, m: progress.append((f, phase)),
    )
    assert [p.name for p in list_checkpoints(tmp_path / "full")] == ["checkpoint-4", "checkpoint-6"]  # rotated
    assert progress[-1] == (1.0, "done") and any(phase == "training" for _, phase in progress)
    assert full.losses[-1] < full.losses[0] * 10  # finite, trained

    # "Interrupted" after 4 steps, then resumed from the latest checkpoint up to 6.
    part_dir = tmp_path / "part"
    align(tiny_config(output_dir=str(part_dir), steps=4, checkpoint_every=2, real_weight=1.0), scored, real)
    assert latest_checkpoint(part_dir).name == "checkpoint-4"
    resumed = align(tiny_config(output_dir=str(part_dir), steps=6, checkpoint_every=2, real_weight=1.0, resume="latest"), scored, real)
    assert resumed.losses == pytest.approx(full.losses, abs=0, rel=0)
    a, b = _trainable(full.final_dir), _trainable(resumed.final_dir)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert any(v.abs().sum() > 0 for k, v in a.items() if "lora_B" in k)  # the adapter moved off its zero init
    assert resumed.cache_misses == 0 and resumed.cache_hits > 0  # latents/embeddings came from the cache


def test_saved_lora_loads_in_a_stock_pipeline_and_generates(tiny_config, tiny_base, scored, real):
    from diffusers import CogVideoXPipeline

    result = align(tiny_config(steps=3, real_weight=1.0, learning_rate=1e-2), scored, real)
    pipe = CogVideoXPipeline.from_pretrained(tiny_base)
    before = pipe(prompt="one red circle", num_frames=9, height=32, width=32, num_inference_steps=2, guidance_scale=1.0,
                  max_sequence_length=16, generator=torch.Generator().manual_seed(0), output_type="np").frames
    pipe.load_lora_weights(str(result.final_dir))
    after = pipe(prompt="one red circle", num_frames=9, height=32, width=32, num_inference_steps=2, guidance_scale=1.0,
                 max_sequence_length=16, generator=torch.Generator().manual_seed(0), output_type="np").frames
    assert after.shape == (1, 9, 32, 32, 3) and np.isfinite(after).all()
    assert not np.allclose(before, after)  # the adapter changes what the model makes


def test_full_fine_tuning_and_validation_curve(tiny_config, scored, real, world_prompts):
    result = align(
        tiny_config(lora_rank=None, steps=4, validation_every=2, real_weight=0.5, weighting="softmax"),
        scored, real, reward_fn=colour_reward_fn, validation_prompts=world_prompts[9:11],
    )
    assert [v["step"] for v in result.validation] == [0, 2, 4]
    assert (result.final_dir / "transformer" / "config.json").is_file()
    assert json.loads((result.output_dir / "validation.json").read_text())[-1]["step"] == 4
    assert result.weight_info["effective_sample_size"] >= 0.25 * len(scored) - 1e-6


def test_a_caller_that_measures_the_final_weights_itself_skips_the_last_validation(tiny_config, scored, world_prompts):
    result = align(tiny_config(steps=4, validation_every=2, validate_at_end=False, real_weight=0.0), scored,
                   reward_fn=colour_reward_fn, validation_prompts=world_prompts[9:11])
    assert [v["step"] for v in result.validation] == [0, 2]


def test_edit_reward_step_runs_and_moves_weights(tiny_config, scored):
    result = align(tiny_config(objective="edit_reward", steps=2, real_weight=0.0, edit_segments=4), scored, reward_fn=colour_reward_fn)
    assert all(np.isfinite(result.losses)) and 0 <= result.losses[0] <= 1
