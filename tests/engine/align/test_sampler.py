"""Our DDIM sampler against the stock diffusers pipeline: with classifier-free guidance the
validation samples are the samples users get from the generator version."""

import pytest
import torch

from .conftest import TINY


@pytest.mark.parametrize("guidance", [1.0, 6.0])
def test_sampler_matches_the_pipeline_at_the_generator_guidance(tiny_base, guidance):
    from alignment.engine.align.model import CogVideoXSpec

    from diffusers import CogVideoXDDIMScheduler

    spec = CogVideoXSpec(tiny_base)
    # CogVideoX-2B predicts v; the tiny model's scheduler config says epsilon, which only the pipeline reads.
    spec.pipe.scheduler = CogVideoXDDIMScheduler.from_config(spec.pipe.scheduler.config, prediction_type="v_prediction")
    prompt, seed, steps = "two red circles moving left", 3, 4
    expected = spec.pipe(prompt=prompt, num_frames=TINY["frames"], height=TINY["height"], width=TINY["width"],
                         num_inference_steps=steps, guidance_scale=guidance, max_sequence_length=16,
                         generator=torch.Generator("cpu").manual_seed(seed), output_type="latent").frames
    embeds = spec.encode_prompts([prompt], 16)
    ours = spec.sample(spec.transformer, embeds, [seed], TINY["frames"], TINY["height"], TINY["width"], steps,
                       guidance=guidance, negative_embeds=spec.negative_embeds(16))
    torch.testing.assert_close(ours, expected.float(), rtol=1e-4, atol=1e-4)


def test_guidance_needs_the_negative_prompt(tiny_base):
    from alignment.engine.align.model import CogVideoXSpec

    spec = CogVideoXSpec(tiny_base)
    with pytest.raises(ValueError, match="negative_embeds"):
        spec.sample(spec.transformer, spec.encode_prompts(["a"], 16), [0], 9, 32, 32, 2, guidance=6.0)


def test_decoding_in_chunks_gives_the_same_videos(tiny_base):
    from alignment.engine.align.model import CogVideoXSpec

    spec = CogVideoXSpec(tiny_base)
    latents = torch.randn(3, 3, 4, 4, 4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(spec.decode(latents, batch_size=1), spec.decode(latents))


def test_trainer_reports_its_memory_settings_and_samples_with_guidance(tiny_config, world_prompts, monkeypatch):
    """A tiny run keeps the fast path (fp32, no checkpointing, T5 resident); validation samples are drawn
    at the config's guidance, through the classifier-free branch."""
    from alignment.engine.align import ScoredSample, align
    from alignment.engine.align.model import CogVideoXSpec

    from .conftest import world_clip

    calls = []
    original = CogVideoXSpec._guided_v
    monkeypatch.setattr(CogVideoXSpec, "_guided_v",
                        lambda self, *args: calls.append(args[4]) or original(self, *args))
    samples = [ScoredSample(prompt=p, frames=world_clip(p, i), reward=0.5 + 0.04 * i) for i, p in enumerate(world_prompts[:4])]
    result = align(tiny_config(steps=1, real_weight=0.0, guidance=3.0, sample_steps=2), samples,
                   reward_fn=lambda videos, prompts, meta: videos.mean(dim=(1, 2, 3, 4)), validation_prompts=world_prompts[4:6])
    assert result.memory["dtype"]["transformer"] == "torch.float32" and not result.memory["gradient_checkpointing"]
    assert result.memory["device"]["text_encoder"] == "cpu" and not result.memory["vae_tiling"]
    assert calls and set(calls) == {3.0}
