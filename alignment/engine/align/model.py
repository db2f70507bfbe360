"""CogVideoX model specification: load components, encode text and video, predict, sample, decode.

Our own DDIM loop (`sample`) is used for validation, for generating scored samples and for the
edit_reward objective (which needs to stop the chain part-way and keep the graph of the last
step). It follows the CogVideoX DDIM scheduler's arithmetic with η = 0 and no classifier-free
guidance: x̂0 = √ᾱ_t·x_t − √(1−ᾱ_t)·v, ε̂ = √(1−ᾱ_t)·x_t + √ᾱ_t·v, x_prev = √ᾱ_prev·x̂0 + √(1−ᾱ_prev)·ε̂.
Latents are laid out [B, F, C, H, W] like the pipeline's; videos [B, T, 3, H, W] in [0, 1].
"""

from __future__ import annotations

import torch

from .compat import ModelShape, model_identity, read_model_shape  # noqa: F401 (re-exported)
from .objectives import v_to_x0


def ddim_step(v: torch.Tensor, x_t: torch.Tensor, alpha_t: torch.Tensor, alpha_prev: torch.Tensor) -> torch.Tensor:
    """One deterministic DDIM step for v-prediction (η = 0); alphas are ᾱ scalars (0-d tensors)."""
    x0 = alpha_t.sqrt() * x_t - (1 - alpha_t).sqrt() * v
    eps = (1 - alpha_t).sqrt() * x_t + alpha_t.sqrt() * v
    return alpha_prev.sqrt() * x0 + (1 - alpha_prev).sqrt() * eps


class CogVideoXSpec:
    """Loaded CogVideoX components and the operations training needs."""

    def __init__(self, base: str, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32, vae_tiling: bool = False):
        from diffusers import CogVideoXDDIMScheduler, CogVideoXPipeline

        self.base = base
        self.device = torch.device(device)
        self.pipe = CogVideoXPipeline.from_pretrained(base, torch_dtype=dtype)
        self.pipe.scheduler = CogVideoXDDIMScheduler.from_config(self.pipe.scheduler.config)
        self.pipe.set_progress_bar_config(disable=True)
        for module in (self.pipe.text_encoder, self.pipe.vae):
            module.requires_grad_(False)
            module.eval()
            module.to(self.device)
        self.pipe.transformer.to(self.device)
        if vae_tiling:
            self.pipe.vae.enable_tiling()
        self.alphas_cumprod = self.pipe.scheduler.alphas_cumprod.to(torch.float32)
        self.final_alpha_cumprod = torch.as_tensor(self.pipe.scheduler.final_alpha_cumprod, dtype=torch.float32)
        self.num_train_timesteps = int(self.pipe.scheduler.config.num_train_timesteps)
        self.scaling_factor = float(self.pipe.vae_scaling_factor_image)

    @property
    def transformer(self):
        return self.pipe.transformer

    @property
    def vae(self):
        return self.pipe.vae

    # ---- conditions and latents ------------------------------------------------------------

    @torch.no_grad()
    def encode_prompts(self, prompts: list[str], max_sequence_length: int) -> torch.Tensor:
        embeds, _ = self.pipe.encode_prompt(
            prompts, do_classifier_free_guidance=False, max_sequence_length=max_sequence_length, device=self.device
        )
        return embeds.float()

    @torch.no_grad()
    def encode_videos(self, videos: torch.Tensor) -> torch.Tensor:
        """videos [B, T, 3, H, W] in [0, 1] → latents [B, F, C, h, w] (posterior mode × scaling factor)."""
        pixels = videos.to(self.device, self.vae.dtype).permute(0, 2, 1, 3, 4) * 2.0 - 1.0
        latents = self.vae.encode(pixels).latent_dist.mode() * self.scaling_factor
        return latents.permute(0, 2, 1, 3, 4).float()

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """latents [B, F, C, h, w] → videos [B, T, 3, H, W] in [0, 1]; differentiable."""
        frames = self.pipe.decode_latents(latents.to(self.vae.dtype))  # [B, 3, T, H, W] in [-1, 1]
        return (frames.float() / 2 + 0.5).clamp(0, 1).permute(0, 2, 1, 3, 4)

    def latent_shape(self, batch: int, frames: int, height: int, width: int) -> tuple[int, ...]:
        shape = read_model_shape(self.base) if not hasattr(self, "_shape") else self._shape
        self._shape = shape
        return (
            batch,
            (frames - 1) // shape.temporal_compression + 1,
            shape.latent_channels,
            height // shape.spatial_compression,
            width // shape.spatial_compression,
        )

    # ---- forward ----------------------------------------------------------------------------

    def _rotary(self, latents: torch.Tensor):
        if not self.transformer.config.use_rotary_positional_embeddings:
            return None
        height = latents.shape[3] * self.pipe.vae_scale_factor_spatial
        width = latents.shape[4] * self.pipe.vae_scale_factor_spatial
        return self.pipe._prepare_rotary_positional_embeddings(height, width, latents.shape[1], latents.device)

    def predict_v(self, transformer, noisy: torch.Tensor, prompt_embeds: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        return transformer(
            hidden_states=noisy,
            encoder_hidden_states=prompt_embeds,
            timestep=timesteps,
            image_rotary_emb=self._rotary(noisy),
            return_dict=False,
        )[0]

    def predict_x0(self, transformer, noisy: torch.Tensor, prompt_embeds: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        v = self.predict_v(transformer, noisy, prompt_embeds, timesteps)
        return v_to_x0(v.float(), noisy.float(), self.alphas_cumprod.to(noisy.device)[timesteps])

    # ---- sampling ---------------------------------------------------------------------------

    def timesteps(self, steps: int) -> list[int]:
        scheduler = type(self.pipe.scheduler).from_config(self.pipe.scheduler.config)
        scheduler.set_timesteps(steps)
        return [int(t) for t in scheduler.timesteps]

    def _alpha(self, t: int) -> torch.Tensor:
        return self.alphas_cumprod[t] if t >= 0 else self.final_alpha_cumprod

    def denoise(
        self,
        transformer,
        latents: torch.Tensor,
        prompt_embeds: torch.Tensor,
        timesteps: list[int],
        num_inference_steps: int,
        grad_last_step: bool = False,
    ) -> torch.Tensor:
        """Run DDIM over `timesteps` (a tail of a `num_inference_steps` chain) from `latents`;
        only the last step keeps a graph if asked."""
        step_gap = self.num_train_timesteps // num_inference_steps
        x = latents
        for index, t in enumerate(timesteps):
            last = index == len(timesteps) - 1
            prev_t = timesteps[index + 1] if not last else t - step_gap
            with torch.set_grad_enabled(grad_last_step and last):
                batch_t = torch.full((x.shape[0],), t, device=x.device, dtype=torch.long)
                v = self.predict_v(transformer, x.to(prompt_embeds.dtype), prompt_embeds, batch_t).float()
                alpha_t = self._alpha(t).to(x.device)
                alpha_prev = self._alpha(prev_t).to(x.device)
                x = ddim_step(v, x.float(), alpha_t, alpha_prev)
        return x

    @torch.no_grad()
    def sample(
        self,
        transformer,
        prompt_embeds: torch.Tensor,
        seeds: list[int],
        frames: int,
        height: int,
        width: int,
        steps: int,
    ) -> torch.Tensor:
        """Latents [B, F, C, h, w] from noise drawn per seed on the CPU (same on every device)."""
        shape = self.latent_shape(1, frames, height, width)
        noise = torch.cat([torch.randn(shape, generator=torch.Generator("cpu").manual_seed(int(s))) for s in seeds])
        noise = noise.to(self.device) * float(self.pipe.scheduler.init_noise_sigma)
        return self.denoise(transformer, noise, prompt_embeds, self.timesteps(steps), steps)

    def edit(
        self,
        transformer,
        latents: torch.Tensor,
        prompt_embeds: torch.Tensor,
        steps: int,
        strength: float,
        generator: torch.Generator,
    ) -> torch.Tensor:
        """InstructVideo editing: noise clean latents to the chain's `strength` point, denoise the rest;
        gradients flow through the last step only."""
        chain = self.timesteps(steps)
        start = len(chain) - max(1, round(strength * len(chain)))
        remaining = chain[start:]
        t0 = remaining[0]
        noise = torch.randn(latents.shape, generator=generator).to(latents.device)
        alpha = self._alpha(t0).to(latents.device)
        noisy = alpha.sqrt() * latents.float() + (1 - alpha).sqrt() * noise
        return self.denoise(transformer, noisy, prompt_embeds, remaining, steps, grad_last_step=True)
