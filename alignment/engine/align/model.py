"""CogVideoX model specification: load components, encode text and video, predict, sample, decode.

Our own DDIM loop (`sample`) is used for validation, for generating scored samples and for the
edit_reward objective (which needs to stop the chain part-way and keep the graph of the last
step). It follows the CogVideoX DDIM scheduler's arithmetic with η = 0, and classifier-free guidance
as the pipeline does it (v = v_uncond + g·(v_text − v_uncond), the empty prompt as negative), so a
validation sample is the sample users get at the generator version's guidance:
x̂0 = √ᾱ_t·x_t − √(1−ᾱ_t)·v, ε̂ = √(1−ᾱ_t)·x_t + √ᾱ_t·v, x_prev = √ᾱ_prev·x̂0 + √(1−ᾱ_prev)·ε̂.
Latents are laid out [B, F, C, H, W] like the pipeline's; videos [B, T, 3, H, W] in [0, 1].

Memory at real size (scale.MemoryProfile, from the transformer's size unless set): frozen weights in
bf16 on CUDA, VAE slicing and tiling, and T5 kept on the CPU except while it encodes.
"""

from __future__ import annotations

import contextlib

import torch

from ..scale import MemoryProfile, module_parameters
from ..training.device import resolve_dtype
from .compat import ModelShape, model_identity, read_model_shape  # noqa: F401 (re-exported)
from .objectives import v_to_x0


def ddim_step(v: torch.Tensor, x_t: torch.Tensor, alpha_t: torch.Tensor, alpha_prev: torch.Tensor) -> torch.Tensor:
    """One deterministic DDIM step for v-prediction (η = 0); alphas are ᾱ scalars (0-d tensors)."""
    x0 = alpha_t.sqrt() * x_t - (1 - alpha_t).sqrt() * v
    eps = (1 - alpha_t).sqrt() * x_t + alpha_t.sqrt() * v
    return alpha_prev.sqrt() * x0 + (1 - alpha_prev).sqrt() * eps


def _pick(explicit: bool | None, default: bool) -> bool:
    return default if explicit is None else bool(explicit)


class CogVideoXSpec:
    """Loaded CogVideoX components and the operations training needs.

    dtype: storage of the frozen parts (None: bf16 on CUDA, fp32 on CPU); transformer_dtype: the
    trained transformer's (None: the same; full fine-tuning passes float32 for fp32 master weights).
    vae_tiling / vae_slicing / offload_text_encoder: None = as the transformer's size calls for.
    `pipe` passes already built components (tests build real-size ones on the meta device).
    """

    def __init__(
        self,
        base: str,
        device: str | torch.device = "cpu",
        dtype: torch.dtype | None = None,
        *,
        transformer_dtype: torch.dtype | None = None,
        vae_tiling: bool | None = None,
        vae_slicing: bool | None = None,
        offload_text_encoder: bool | None = None,
        pipe=None,
    ):
        from diffusers import CogVideoXDDIMScheduler, CogVideoXPipeline

        self.base = base
        self.device = torch.device(device)
        self.dtype = dtype or resolve_dtype("auto", self.device)
        self.transformer_dtype = transformer_dtype or self.dtype
        if pipe is None:
            pipe = CogVideoXPipeline.from_pretrained(
                base, torch_dtype={"transformer": self.transformer_dtype, "default": self.dtype}
            )
        else:
            for module in (pipe.text_encoder, pipe.vae):
                if module is not None:
                    module.to(self.dtype)
            pipe.transformer.to(self.transformer_dtype)
        self.pipe = pipe
        self.pipe.scheduler = CogVideoXDDIMScheduler.from_config(self.pipe.scheduler.config)
        self.pipe.set_progress_bar_config(disable=True)
        self.profile = MemoryProfile.for_size(module_parameters(self.pipe.transformer))
        self.offload_text_encoder = _pick(offload_text_encoder, self.profile.offload_text_encoder)
        for name, where in self.placement().items():
            module = getattr(self.pipe, name)
            if module is None:  # no text encoder: the embeddings come from the cache
                continue
            if name != "transformer":
                module.requires_grad_(False).eval()
            module.to(where)
        vae = self.pipe.vae
        vae.enable_tiling() if _pick(vae_tiling, self.profile.vae_tiling) else vae.disable_tiling()
        vae.enable_slicing() if _pick(vae_slicing, self.profile.vae_slicing) else vae.disable_slicing()
        self._holding_text_encoder = False
        self._negative: dict[int, torch.Tensor] = {}
        self.alphas_cumprod = self.pipe.scheduler.alphas_cumprod.to(torch.float32)
        self.final_alpha_cumprod = torch.as_tensor(self.pipe.scheduler.final_alpha_cumprod, dtype=torch.float32)
        self.num_train_timesteps = int(self.pipe.scheduler.config.num_train_timesteps)
        self.scaling_factor = float(self.pipe.vae_scaling_factor_image)

    def placement(self) -> dict[str, torch.device]:
        """Where each component lives between uses: T5 on the CPU when it is offloaded."""
        cpu = torch.device("cpu")
        return {
            "transformer": self.device,
            "vae": self.device,
            "text_encoder": cpu if self.offload_text_encoder else self.device,
        }

    def _components(self):
        return [(name, getattr(self.pipe, name)) for name in ("transformer", "vae", "text_encoder")
                if getattr(self.pipe, name) is not None]

    def memory_settings(self) -> dict:
        """What is on, for logs and tests: dtypes, VAE flags, where each component sits now."""
        vae = self.pipe.vae
        return {
            "profile": self.profile.describe(),
            "dtype": {name: str(module.dtype) for name, module in self._components()},
            "device": {name: str(next(module.parameters()).device) for name, module in self._components()},
            "vae_tiling": bool(getattr(vae, "use_tiling", False)),
            "vae_slicing": bool(getattr(vae, "use_slicing", False)),
            "offload_text_encoder": self.offload_text_encoder,
        }

    @property
    def transformer(self):
        return self.pipe.transformer

    @property
    def vae(self):
        return self.pipe.vae

    # ---- conditions and latents ------------------------------------------------------------

    @contextlib.contextmanager
    def text_encoder_on_device(self):
        """T5 on the device for the block (several encode calls move it once), back after if offloaded."""
        if self._holding_text_encoder or not self.offload_text_encoder:
            yield
            return
        self._holding_text_encoder = True
        self.pipe.text_encoder.to(self.device)
        try:
            yield
        finally:
            self.pipe.text_encoder.to(self.placement()["text_encoder"])
            self._holding_text_encoder = False
            _release_cached_memory(self.device)

    @torch.no_grad()
    def encode_prompts(self, prompts: list[str], max_sequence_length: int) -> torch.Tensor:
        with self.text_encoder_on_device():
            embeds, _ = self.pipe.encode_prompt(
                prompts, do_classifier_free_guidance=False, max_sequence_length=max_sequence_length, device=self.device
            )
        return embeds.float()

    def negative_embeds(self, max_sequence_length: int) -> torch.Tensor:
        """The empty prompt's embedding [1, L, D] (the pipeline's default negative), computed once."""
        if max_sequence_length not in self._negative:
            self._negative[max_sequence_length] = self.encode_prompts([""], max_sequence_length).cpu()
        return self._negative[max_sequence_length]

    @torch.no_grad()
    def encode_videos(self, videos: torch.Tensor) -> torch.Tensor:
        """videos [B, T, 3, H, W] in [0, 1] → latents [B, F, C, h, w] (posterior mode × scaling factor)."""
        pixels = videos.to(self.device, self.vae.dtype).permute(0, 2, 1, 3, 4) * 2.0 - 1.0
        latents = self.vae.encode(pixels).latent_dist.mode() * self.scaling_factor
        return latents.permute(0, 2, 1, 3, 4).float()

    def decode(self, latents: torch.Tensor, batch_size: int | None = None) -> torch.Tensor:
        """latents [B, F, C, h, w] → videos [B, T, 3, H, W] in [0, 1]; differentiable.

        batch_size decodes that many at a time (validation: peak memory of one video, not of all)."""
        if batch_size and latents.shape[0] > batch_size:
            return torch.cat([self.decode(chunk) for chunk in latents.split(batch_size)])
        frames = self.pipe.decode_latents(latents.to(self.vae.dtype))  # [B, 3, T, H, W] in [-1, 1]
        return (frames.float() / 2 + 0.5).clamp(0, 1).permute(0, 2, 1, 3, 4)

    def latent_shape(self, batch: int, frames: int, height: int, width: int) -> tuple[int, ...]:
        """[B, F, C, h, w] from the loaded components' configs (the same numbers `read_model_shape` reads)."""
        temporal = int(self.vae.config.temporal_compression_ratio)
        spatial = int(self.pipe.vae_scale_factor_spatial)
        return (batch, (frames - 1) // temporal + 1, int(self.transformer.config.in_channels),
                height // spatial, width // spatial)

    # ---- forward ----------------------------------------------------------------------------

    def _rotary(self, latents: torch.Tensor):
        if not self.transformer.config.use_rotary_positional_embeddings:
            return None
        height = latents.shape[3] * self.pipe.vae_scale_factor_spatial
        width = latents.shape[4] * self.pipe.vae_scale_factor_spatial
        return self.pipe._prepare_rotary_positional_embeddings(height, width, latents.shape[1], latents.device)

    def predict_v(self, transformer, noisy: torch.Tensor, prompt_embeds: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        # Inputs in the transformer's storage dtype: sampling runs without autocast (bf16 weights, fp32 latents).
        return transformer(
            hidden_states=noisy.to(self.transformer_dtype),
            encoder_hidden_states=prompt_embeds.to(self.transformer_dtype),
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
        guidance: float = 1.0,
        negative_embeds: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Run DDIM over `timesteps` (a tail of a `num_inference_steps` chain) from `latents`;
        only the last step keeps a graph if asked. guidance > 1 needs `negative_embeds` ([1, L, D])."""
        step_gap = self.num_train_timesteps // num_inference_steps
        x = latents
        for index, t in enumerate(timesteps):
            last = index == len(timesteps) - 1
            prev_t = timesteps[index + 1] if not last else t - step_gap
            with torch.set_grad_enabled(grad_last_step and last):
                v = self._guided_v(transformer, x, prompt_embeds, t, guidance, negative_embeds)
                alpha_t = self._alpha(t).to(x.device)
                alpha_prev = self._alpha(prev_t).to(x.device)
                x = ddim_step(v, x.float(), alpha_t, alpha_prev)
        return x

    def _guided_v(self, transformer, x, prompt_embeds, t: int, guidance: float, negative_embeds) -> torch.Tensor:
        """v for one step; with guidance > 1 the unconditional and text halves run as one batch, as in the pipeline."""
        n = x.shape[0]
        if guidance <= 1.0:
            batch_t = torch.full((n,), t, device=x.device, dtype=torch.long)
            return self.predict_v(transformer, x.to(prompt_embeds.dtype), prompt_embeds, batch_t).float()
        if negative_embeds is None:
            raise ValueError("classifier-free guidance needs negative_embeds (spec.negative_embeds)")
        negative = negative_embeds.to(prompt_embeds.device, prompt_embeds.dtype).expand(n, -1, -1)
        batch_t = torch.full((2 * n,), t, device=x.device, dtype=torch.long)
        both = torch.cat([x, x]).to(prompt_embeds.dtype)
        v_uncond, v_text = self.predict_v(transformer, both, torch.cat([negative, prompt_embeds]), batch_t).float().chunk(2)
        return v_uncond + guidance * (v_text - v_uncond)

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
        guidance: float = 1.0,
        negative_embeds: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Latents [B, F, C, h, w] from noise drawn per seed on the CPU (same on every device)."""
        shape = self.latent_shape(1, frames, height, width)
        noise = torch.cat([torch.randn(shape, generator=torch.Generator("cpu").manual_seed(int(s))) for s in seeds])
        noise = noise.to(self.device) * float(self.pipe.scheduler.init_noise_sigma)
        return self.denoise(transformer, noise, prompt_embeds, self.timesteps(steps), steps,
                            guidance=guidance, negative_embeds=negative_embeds)

    def edit(
        self,
        transformer,
        latents: torch.Tensor,
        prompt_embeds: torch.Tensor,
        steps: int,
        strength: float,
        generator: torch.Generator,
        guidance: float = 1.0,
        negative_embeds: torch.Tensor | None = None,
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
        return self.denoise(transformer, noisy, prompt_embeds, remaining, steps, grad_last_step=True,
                            guidance=guidance, negative_embeds=negative_embeds)


def _release_cached_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
