"""Pretraining a tiny CogVideoX on the synthetic world, as real alignment starts from a pretrained model.

The world's renders come with their defects (sample_defects), so the model learns to make the world
*and* its mistakes, in the proportions the world makes them: its samples are recognisably the prompt's
scene, and imperfect in the ways the judge and the critic rate. That is the room alignment has.

Two stages, both the stock diffusers classes saved with `save_pretrained`:
  1. the VAE (AutoencoderKLCogVideoX) learns to reconstruct world clips (MSE + a small KL);
     its scaling factor is then set so latents have unit variance;
  2. the transformer (CogVideoXTransformer3DModel, v-prediction) learns the world's clips from their
     prompts through the platform's own alignment trainer with uniform weights, which is plain
     diffusion training on cached latents. A share of captions is blank, so classifier-free guidance
     has an unconditional model to push against.
The T5 text encoder stays random and frozen. Deterministic on the CPU for a given seed and thread count.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..synthetic import CLIP_FRAMES, CLIP_SIZE, render, sample_defects, sample_prompt

ProgressFn = Callable[[float, str, dict], None]

TEXT_LENGTH = 16  # T5 tokens: the world's prompts (and the opening of an expanded caption) fit
TEXT_DIM = 32
LATENT_CHANNELS = 8
# CogVideoX-2B's own scheduler settings (its scheduler_config.json): v-prediction, zero terminal SNR.
SCHEDULER = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                 prediction_type="v_prediction", rescale_betas_zero_snr=True, set_alpha_to_one=True,
                 snr_shift_scale=3.0, steps_offset=0, timestep_spacing="trailing")


@dataclass
class GeneratorPretrainConfig:
    videos: int = field(default=6000, metadata={"help": "world renders to learn from"})
    vae_steps: int = field(default=1000, metadata={"help": "VAE optimiser steps"})
    vae_batch_size: int = field(default=8, metadata={"help": "clips per VAE step"})
    vae_learning_rate: float = field(default=1e-3, metadata={"help": "VAE AdamW learning rate (cosine decay)"})
    vae_crop: int = field(default=24, metadata={"help": "train the VAE on random crops of this many pixels (0: whole clips)"})
    vae_full_steps: int = field(default=200, metadata={"help": "last VAE steps on whole clips"})
    kl_weight: float = field(default=1e-6, metadata={"help": "weight of the VAE posterior's KL term"})
    transformer_steps: int = field(default=2500, metadata={"help": "transformer optimiser steps"})
    transformer_batch_size: int = field(default=32, metadata={"help": "clips per transformer step"})
    transformer_learning_rate: float = field(default=5e-4, metadata={"help": "transformer AdamW learning rate"})
    blank_caption_share: float = field(default=0.1, metadata={"help": "share of clips trained with a blank caption"})
    p_clean: float = field(default=0.4, metadata={"help": "share of clean dimensions in the renders (sample_defects)"})
    seed: int = field(default=0, metadata={"help": "seeds renders, order, noise and initialisation"})
    num_threads: int = field(default=1, metadata={"help": "torch CPU threads (1 keeps the build repeatable)"})


def build_world_cogvideox(out_dir: str | Path, seed: int = 0) -> Path:
    """A random-weight CogVideoX at the tiny world's clip (9 frames of 48×48): VAE spatial ×4 and temporal
    ×2 (5 latent frames of 12×12), transformer patch 2 (180 tokens), 4 layers of width 128."""
    import torch
    from diffusers import AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXPipeline, CogVideoXTransformer3DModel
    from transformers import T5Config, T5EncoderModel

    from ..tiny import build_t5_tokenizer

    height, width = CLIP_SIZE
    torch.manual_seed(seed)
    vae = AutoencoderKLCogVideoX(
        in_channels=3, out_channels=3, down_block_types=("CogVideoXDownBlock3D",) * 3,
        up_block_types=("CogVideoXUpBlock3D",) * 3, block_out_channels=(16, 32, 32), latent_channels=LATENT_CHANNELS,
        layers_per_block=1, norm_num_groups=4, temporal_compression_ratio=2, sample_height=height, sample_width=width,
    )
    transformer = CogVideoXTransformer3DModel(
        num_attention_heads=8, attention_head_dim=16, in_channels=LATENT_CHANNELS, out_channels=LATENT_CHANNELS,
        time_embed_dim=128, text_embed_dim=TEXT_DIM, num_layers=4, sample_width=width // 4, sample_height=height // 4,
        sample_frames=CLIP_FRAMES, patch_size=2, temporal_compression_ratio=2, max_text_seq_length=TEXT_LENGTH,
    )
    tokenizer = build_t5_tokenizer()
    text_encoder = T5EncoderModel(T5Config(vocab_size=len(tokenizer), d_model=TEXT_DIM, d_kv=8, d_ff=64, num_layers=2,
                                           num_heads=4, relative_attention_num_buckets=8, dropout_rate=0.0))
    pipeline = CogVideoXPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
                                 scheduler=CogVideoXDDIMScheduler(**SCHEDULER))
    out_dir = Path(out_dir)
    pipeline.save_pretrained(out_dir)
    return out_dir


def world_clips(count: int, seed: int, p_clean: float) -> list[tuple[str, np.ndarray]]:
    """(prompt, frames) for `count` world renders with their defects."""
    rng = np.random.default_rng([seed, 29])
    clips = []
    for index in range(count):
        spec, defects = sample_prompt(rng), sample_defects(rng, p_clean)
        clips.append((spec.to_text(), render(spec, defects, frames=CLIP_FRAMES, size=CLIP_SIZE, seed=seed * 1_000_003 + index)))
    return clips


def _to_vae_input(frames: list[np.ndarray]):
    import torch

    video = torch.from_numpy(np.stack(frames)).float() / 127.5 - 1.0  # [B, T, H, W, 3] in [-1, 1]
    return video.permute(0, 4, 1, 2, 3).contiguous()  # [B, 3, T, H, W]


def pretrain_vae(pipe_dir: Path, clips, config: GeneratorPretrainConfig, report: ProgressFn) -> dict:
    import torch
    from diffusers import AutoencoderKLCogVideoX

    from ..critic.loss import lr_factor

    vae = AutoencoderKLCogVideoX.from_pretrained(pipe_dir / "vae")
    vae.train()
    optimizer = torch.optim.AdamW(vae.parameters(), lr=config.vae_learning_rate)
    rng = np.random.default_rng([config.seed, 31])
    noise = torch.Generator().manual_seed(config.seed)
    losses = []
    height, width = clips[0][1].shape[1:3]
    crop = config.vae_crop
    for step in range(config.vae_steps):
        picked = rng.choice(len(clips), size=config.vae_batch_size, replace=False)
        x = _to_vae_input([clips[i][1] for i in picked])
        if crop and step < config.vae_steps - config.vae_full_steps:
            # The VAE is convolutional: most steps learn on random crops, a quarter of the pixels, and the
            # last steps on whole clips, so its group norms see whole-frame statistics at the end.
            top, left = (int(v) for v in rng.integers(0, [height - crop + 1, width - crop + 1]) // 4 * 4)
            x = x[..., top : top + crop, left : left + crop]
        for group in optimizer.param_groups:
            group["lr"] = config.vae_learning_rate * lr_factor(step, config.vae_steps, 50)
        posterior = vae.encode(x).latent_dist
        latents = posterior.mean + posterior.std * torch.randn(posterior.mean.shape, generator=noise)
        reconstruction = vae.decode(latents).sample
        mse = torch.nn.functional.mse_loss(reconstruction, x)
        loss = mse + config.kl_weight * posterior.kl().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        optimizer.step()
        losses.append(mse.item())
        if (step + 1) % 50 == 0:
            report((step + 1) / config.vae_steps, "vae", {"step": step + 1, "mse": float(np.mean(losses[-50:]))})
    vae.eval()
    with torch.no_grad():  # unit-variance latents, as diffusion expects (the scaling factor's purpose)
        sample = _to_vae_input([clip[1] for clip in clips[:64]])
        latents = vae.encode(sample).latent_dist.mode()
        scaling = float(1.0 / latents.std())
        held_out = torch.nn.functional.mse_loss(vae.decode(latents).sample, sample).item()
    vae.register_to_config(scaling_factor=scaling)
    vae.save_pretrained(pipe_dir / "vae")
    return {"vae_final_mse": float(np.mean(losses[-50:])), "vae_mse_first_clips": held_out, "scaling_factor": scaling}


def pretrain_transformer(pipe_dir: Path, clips, config: GeneratorPretrainConfig, work_dir: Path, report: ProgressFn) -> dict:
    from ..align.config import AlignConfig
    from ..align.data import ScoredSample
    from ..align.trainer import align
    from ..expand import TemplateExpander

    expander = TemplateExpander()
    rng = np.random.default_rng([config.seed, 37])
    samples = []
    for prompt, frames in clips:
        # The platform generates from the expanded caption (or the prompt): learn both, and a blank share.
        draw = rng.random()
        text = "" if draw < config.blank_caption_share else (expander.expand(prompt) if draw < 0.55 else prompt)
        samples.append(ScoredSample(prompt=text, frames=frames, reward=1.0))
    settings = AlignConfig(
        base=str(pipe_dir), output_dir=str(work_dir), objective="reward_weighted", weighting="uniform",
        real_weight=0.0, learning_rate=config.transformer_learning_rate, warmup_steps=100,
        steps=config.transformer_steps, batch_size=config.transformer_batch_size, lora_rank=None,
        frames=CLIP_FRAMES, height=CLIP_SIZE[0], width=CLIP_SIZE[1], max_sequence_length=TEXT_LENGTH,
        checkpoint_every=0, seed=config.seed, mixed_precision="no",
    )
    result = align(settings, samples, on_progress=lambda fraction, phase, metrics: report(fraction, "transformer", metrics),
                   device="cpu")
    shutil.rmtree(pipe_dir / "transformer")
    shutil.copytree(result.final_dir / "transformer", pipe_dir / "transformer")
    return {"transformer_final_loss": float(np.mean(result.losses[-50:])), "transformer_steps": result.steps}


def pretrain_generator(out_dir: str | Path, config: GeneratorPretrainConfig | None = None,
                       on_progress: ProgressFn | None = None) -> dict:
    """Build the tiny world CogVideoX in `out_dir` and pretrain its VAE and transformer; returns the figures."""
    import torch

    config = config or GeneratorPretrainConfig()
    report = on_progress or (lambda fraction, phase, metrics: None)
    torch.set_num_threads(config.num_threads)
    out_dir = Path(out_dir)
    started = time.perf_counter()
    build_world_cogvideox(out_dir, seed=config.seed)
    report(0.0, "rendering", {})
    clips = world_clips(config.videos, config.seed, config.p_clean)
    metrics = {"render_s": round(time.perf_counter() - started, 1)}
    stage = time.perf_counter()
    metrics.update(pretrain_vae(out_dir, clips, config, report))
    metrics["vae_s"] = round(time.perf_counter() - stage, 1)
    stage = time.perf_counter()
    work = out_dir.parent / f".{out_dir.name}-transformer"
    shutil.rmtree(work, ignore_errors=True)
    metrics.update(pretrain_transformer(out_dir, clips, config, work, report))
    shutil.rmtree(work, ignore_errors=True)
    metrics["transformer_s"] = round(time.perf_counter() - stage, 1)
    (out_dir / "pretrain.json").write_text(json.dumps({"config": asdict(config), "metrics": metrics}, indent=1))
    return metrics
