"""The alignment trainer: named stages, read top to bottom.

    check inputs → _prepare_models → _prepare_dataset (cache) → _prepare_training → resume → _train → _save_final

The `dpo` objective trains on preference pairs instead of scored samples; its frozen reference is the same
transformer with the LoRA switched off (`adapter_disabled`), or with `dpo_reference="start"` the adapter it started
from, kept frozen beside the trained one (DPO after a supervised fine-tune); each step logs the implicit reward margin and
the share of pairs the policy ranks right (`preference_accuracy`) beside the loss.

Every refusal happens in `check_inputs`, before any weight is read. All randomness of a step
(timesteps, noise, edit frames) is drawn from a generator seeded by (seed, step, process), and the
data order is a pure function of (seed, position), so a run resumed from `checkpoint-{step}/`
produces exactly the weights of an uninterrupted run. Checkpoints, random state and device come
from the shared training toolkit (`engine/training`).
"""

from __future__ import annotations

import json
import math
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from ..training.checkpoints import (  # noqa: F401 (list_checkpoints: engine.align hands it out from here)
    STATE_NAME, atomic_directory, latest_checkpoint, list_checkpoints, load_checkpoint, save_checkpoint)
from ..training.device import resolve_device, resolve_dtype
from . import objectives as obj
from .cache import FeatureCache
from .compat import LORA_WEIGHTS_NAME, META_NAME, lora_file, model_identity
from .config import AlignConfig, AlignConfigError
from .data import PreferencePair, RealClip, ScoredSample, TrainingSet, batch_indices
from .inputs import check_inputs, sample_weights_for
from .model import CogVideoXSpec
from .sampling import RewardFn, evaluate_reward

ProgressFn = Callable[[float, str, dict], None]

REFERENCE_ADAPTER = "reference"  # the frozen starting adapter of dpo_reference="start"
MEMORY_ADVICE = (
    "out of GPU memory while aligning. Options that lower memory: train a LoRA (lora_rank) instead of the full "
    "transformer, turn on gradient_checkpointing, use a smaller batch_size/real_batch_size, fewer frames or a "
    "lower resolution, VAE tiling (vae_tiling) or CPU offload of the frozen T5/VAE, fewer sample_steps for edit_reward"
)


class AlignOutOfMemory(RuntimeError):
    """CUDA ran out of memory; the message lists the settings that lower memory."""


@dataclass
class AlignResult:
    output_dir: Path
    final_dir: Path
    steps: int
    losses: list[float]
    validation: list[dict]
    weight_info: dict
    cache_hits: int = 0
    cache_misses: int = 0
    timings: dict = field(default_factory=dict)
    memory: dict = field(default_factory=dict)  # dtypes, flags and placement the run used


def step_generator(seed: int, step: int, process: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed((seed * 1_000_003 + step) * 64 + process)


# ---------------------------------------------------------------------------------------------
# The trainer


class AlignTrainer:
    def __init__(
        self,
        config: AlignConfig,
        samples: Sequence[ScoredSample],
        real: Sequence[RealClip] = (),
        *,
        reward_fn: RewardFn | None = None,
        validation_prompts: Sequence[str] = (),
        on_progress: ProgressFn | None = None,
        device: str | None = None,
        pairs: Sequence[PreferencePair] = (),
    ):
        check_inputs(config, samples, real, reward_fn, validation_prompts, pairs)
        self.config = config
        self.samples = list(samples)
        self.pairs = list(pairs)
        # edit_reward has no real term; dpo's regulariser is its reference model, so λ is not used there either.
        self.real = list(real) if config.objective not in ("edit_reward", "dpo") and config.real_weight > 0 else []
        self.reward_fn = reward_fn
        self.validation_prompts = list(validation_prompts)
        self.report = on_progress or (lambda fraction, phase, metrics: None)
        self.device = device
        self.output_dir = Path(config.output_dir)
        self.step = 0
        self.position = 0
        self.real_position = 0
        self.losses: list[float] = []
        self.step_metrics: dict[str, float] = {}  # extra figures of the last step (dpo: margin, accuracy)
        self.validation: list[dict] = []
        self.timings: dict[str, float] = {}

    # ---- stages -----------------------------------------------------------------------------

    def run(self) -> AlignResult:
        self.report(0.0, "preparing", {})
        self._prepare_models()
        with self.accelerator.main_process_first():  # the first process fills the cache, the others read it
            self._prepare_dataset()
        self._prepare_training()
        if self.config.resume:
            self._resume(self.config.resume)
        self._train()
        final_dir = self._save_final()
        self.report(1.0, "done", {"final_dir": str(final_dir)})
        return AlignResult(
            output_dir=self.output_dir,
            final_dir=final_dir,
            steps=self.step,
            losses=self.losses,
            validation=self.validation,
            weight_info=self.data.weight_info,
            cache_hits=self.cache.hits,
            cache_misses=self.cache.misses,
            timings=self.timings,
            memory=self.memory,
        )

    def _prepare_models(self) -> None:
        from accelerate import Accelerator

        cfg = self.config
        cpu = resolve_device(self.device) == "cpu"
        precision = cfg.mixed_precision if not cpu else "no"
        self.accelerator = Accelerator(mixed_precision=precision, cpu=cpu)
        # bf16 storage on CUDA for T5, the VAE and a LoRA's frozen base; full fine-tuning keeps fp32 master
        # weights of the transformer (bf16 autocast computes either way).
        lora = cfg.lora_rank is not None
        dtype = resolve_dtype(cfg.weight_dtype, self.accelerator.device)
        self.spec = CogVideoXSpec(cfg.base, device=self.accelerator.device, dtype=dtype,
                                  transformer_dtype=dtype if lora else torch.float32, vae_tiling=cfg.vae_tiling,
                                  vae_slicing=cfg.vae_slicing, offload_text_encoder=cfg.offload_text_encoder)
        transformer = self.spec.transformer
        torch.manual_seed(cfg.seed)
        if lora:
            from peft import LoraConfig

            transformer.requires_grad_(False)
            transformer.add_adapter(
                LoraConfig(r=cfg.lora_rank, lora_alpha=cfg.effective_lora_alpha, init_lora_weights=True, target_modules=list(cfg.lora_targets))
            )
            for parameter in transformer.parameters():  # the adapter trains in fp32 on a bf16 base
                if parameter.requires_grad:
                    parameter.data = parameter.data.float()
            if cfg.lora_init:
                self._load_adapter(transformer, lora_file(cfg.lora_init))
            if self.reference_adapter:  # a frozen copy of the starting adapter: a few MB, not a second model
                with warnings.catch_warnings():  # peft warns of a second adapter: here that is the point
                    warnings.filterwarnings("ignore", message="Already found a `peft_config`")
                    transformer.add_adapter(LoraConfig(r=cfg.lora_rank, lora_alpha=cfg.effective_lora_alpha,
                                                       target_modules=list(cfg.lora_targets)), adapter_name=REFERENCE_ADAPTER)
                self._load_adapter(transformer, lora_file(cfg.lora_init), adapter_name=REFERENCE_ADAPTER)
                transformer.set_adapter("default")  # peft: the active adapter trains, the reference is frozen
        else:
            transformer.requires_grad_(True)
        checkpointing = self.spec.profile.gradient_checkpointing if cfg.gradient_checkpointing is None else cfg.gradient_checkpointing
        if checkpointing:
            transformer.enable_gradient_checkpointing()
            if cfg.objective == "edit_reward":  # its reward back-propagates through the VAE decode too
                self.spec.vae.enable_gradient_checkpointing()
        self.memory = {**self.spec.memory_settings(), "gradient_checkpointing": bool(checkpointing)}
        transformer.train()

    def _prepare_dataset(self) -> None:
        cfg = self.config
        started = time.perf_counter()
        self.report(0.0, "caching", {})
        self.cache = FeatureCache(cfg.cache_dir or self.output_dir / "cache", model_identity(cfg.base))
        if cfg.objective == "dpo":
            self.data = self._pair_set()
        else:
            self.data = self._sample_set()
        if self.validation_prompts:
            self.validation_embeds = self.cache.text_embeddings(self.spec, self.validation_prompts, cfg.max_sequence_length)
            if cfg.guidance > 1:
                self.spec.negative_embeds(cfg.max_sequence_length)  # encoded once, now, not during training
        self.timings["cache_s"] = time.perf_counter() - started

    def _latents(self, sources: list) -> torch.Tensor:
        cfg = self.config
        return self.cache.video_latents(self.spec, sources, cfg.frames, cfg.height, cfg.width, fps=cfg.fps)

    def _pair_set(self) -> TrainingSet:
        """dpo: the preferred latents in `latents`, the rejected in `rejected_latents`, row i one pair."""
        prompts = [p.prompt for p in self.pairs]
        n = len(self.pairs)
        latents = self._latents([p.preferred for p in self.pairs] + [p.rejected for p in self.pairs])
        return TrainingSet(
            prompts=prompts,
            latents=latents[:n],
            embeds=self.cache.text_embeddings(self.spec, prompts, self.config.max_sequence_length),
            weights=torch.ones(n),
            real_prompts=[],
            real_latents=None,
            real_embeds=None,
            weight_info={"pairs": n},
            rejected_latents=latents[n:],
        )

    def _sample_set(self) -> TrainingSet:
        cfg = self.config
        prompts = [s.prompt for s in self.samples]
        embeds = self.cache.text_embeddings(self.spec, prompts, cfg.max_sequence_length)
        latents = self._latents([s.source for s in self.samples])
        if cfg.objective == "edit_reward":
            weights, info = torch.ones(len(self.samples)), {}
        else:
            weights, info = sample_weights_for(cfg, self.samples)
        keep = torch.nonzero(weights > 0).flatten()  # weight-0 samples add nothing: leave them out of the stream
        real_latents = real_embeds = None
        if self.real:
            real_embeds = self.cache.text_embeddings(self.spec, [c.prompt for c in self.real], cfg.max_sequence_length)
            real_latents = self._latents([c.source for c in self.real])
        info = {**info, "kept": int(keep.numel()), "total": len(self.samples)}
        return TrainingSet(
            prompts=[prompts[i] for i in keep],
            latents=latents[keep],
            embeds=embeds[keep],
            weights=weights[keep],
            real_prompts=[c.prompt for c in self.real],
            real_latents=real_latents,
            real_embeds=real_embeds,
            weight_info=info,
        )

    def _prepare_training(self) -> None:
        cfg = self.config
        params = [p for p in self.spec.transformer.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)
        warmup = cfg.warmup_steps
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup) if warmup else 1.0)
        self.transformer, self.optimizer, self.lr_scheduler = self.accelerator.prepare(self.spec.transformer, optimizer, scheduler)
        self.trainable = params

    def _train(self) -> None:
        cfg = self.config
        acc = self.accelerator
        if cfg.validation_every and self.step == 0 and self.validation_prompts:
            self._validate()
        step_times: list[float] = []
        while self.step < cfg.steps:
            started = time.perf_counter()
            try:
                loss = self._train_step()
            except torch.cuda.OutOfMemoryError as error:
                raise AlignOutOfMemory(MEMORY_ADVICE) from error
            step_times.append(time.perf_counter() - started)
            self.step += 1
            self.losses.append(loss)
            metrics = {"step": self.step, "loss": loss, "lr": self.lr_scheduler.get_last_lr()[0], **self.step_metrics}
            if not math.isfinite(loss):
                raise FloatingPointError(f"loss became {loss} at step {self.step}; lower the learning rate")
            self.report(self.step / cfg.steps, "training", metrics)
            if cfg.validation_every and self.step % cfg.validation_every == 0 and self.step < cfg.steps and self.validation_prompts:
                self._validate()
            if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0 and acc.is_main_process:
                self._save_checkpoint()
        if cfg.validate_at_end and self.validation_prompts and (not self.validation or self.validation[-1]["step"] != self.step):
            self._validate()
        if step_times:
            self.timings["median_step_s"] = float(np.median(step_times))

    # ---- one step ---------------------------------------------------------------------------

    def _next_indices(self) -> tuple[list[int], list[int]]:
        cfg, acc = self.config, self.accelerator
        world, rank = acc.num_processes, acc.process_index
        indices, self.position = batch_indices(len(self.data.prompts), cfg.batch_size * world, cfg.seed, self.position)
        indices = indices[rank * cfg.batch_size : (rank + 1) * cfg.batch_size]
        real_indices: list[int] = []
        if self.data.real_latents is not None:
            real_indices, self.real_position = batch_indices(
                len(self.data.real_prompts), cfg.real_batch_size * world, cfg.seed + 1, self.real_position
            )
            real_indices = real_indices[rank * cfg.real_batch_size : (rank + 1) * cfg.real_batch_size]
        return indices, real_indices

    def _train_step(self) -> float:
        cfg, acc = self.config, self.accelerator
        indices, real_indices = self._next_indices()
        if cfg.objective == "edit_reward":
            loss = self._edit_loss(indices, step_generator(cfg.seed, self.step, acc.process_index))
        elif cfg.objective == "dpo":
            batch = {k: v.to(acc.device) for k, v in self.data.batch(indices, []).items()}
            loss = self._dpo_loss(batch, step_generator(cfg.seed, self.step))
        else:
            batch = {k: v.to(acc.device) for k, v in self.data.batch(indices, real_indices).items()}
            loss = self._diffusion_loss(batch, step_generator(cfg.seed, self.step), len(real_indices))
        acc.backward(loss)
        if acc.sync_gradients:
            acc.clip_grad_norm_(self.trainable, cfg.max_grad_norm)
        self.optimizer.step()
        self.lr_scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        if acc.num_processes > 1:  # the global batch's loss, the figure one process would report
            loss = acc.reduce(loss.detach(), reduction="mean")
        return float(loss.detach())

    def _per_sample_loss(self, transformer, latents, embeds, timesteps, noise) -> torch.Tensor:
        """[B] diffusion losses of `transformer` on `latents` noised with (timesteps, noise)."""
        timesteps, noise = timesteps.to(latents.device), noise.to(latents.device)
        alphas = self.spec.alphas_cumprod.to(latents.device)[timesteps]
        noisy = obj.add_noise(latents, noise, alphas)
        with self.accelerator.autocast():
            v = self.spec.predict_v(transformer, noisy, embeds, timesteps)
        return obj.diffusion_loss_per_sample(obj.v_to_x0(v.float(), noisy, alphas), latents, alphas)

    def _diffusion_loss(self, batch: dict, generator: torch.Generator, num_real: int) -> torch.Tensor:
        latents = batch["latents"]
        timesteps, noise = self._global_draws(generator, latents.shape, num_real)
        per_sample = self._per_sample_loss(self.transformer, latents, batch["prompt_embeds"], timesteps, noise)
        if self.config.objective == "rejection":
            return obj.rejection(per_sample, batch["weights"], batch["is_real"], self.config.real_weight)
        return obj.reward_weighted(per_sample, batch["weights"], batch["is_real"], self.config.real_weight)

    def _dpo_loss(self, batch: dict, generator: torch.Generator) -> torch.Tensor:
        """Diffusion-DPO: winners and losers stacked in one batch with the same noise and timestep per pair; the
        reference is the same transformer with its adapter disabled (no second copy), without gradients."""
        preferred = batch["latents"]
        timesteps, noise = self._global_draws(generator, preferred.shape, 0)  # one draw per pair, shared by both
        latents = torch.cat([preferred, batch["rejected_latents"]])
        embeds, timesteps, noise = (torch.cat([x, x]) for x in (batch["prompt_embeds"], timesteps, noise))
        policy = self._per_sample_loss(self.transformer, latents, embeds, timesteps, noise).chunk(2)
        with torch.no_grad(), reference_model(self.accelerator.unwrap_model(self.transformer), self.reference_adapter) as ref:
            reference = self._per_sample_loss(ref, latents, embeds, timesteps, noise).chunk(2)
        margin = obj.dpo_margin(policy[0], policy[1], reference[0], reference[1], self.config.dpo_beta)
        figures = torch.stack([margin.detach().mean(), (margin.detach() > 0).float().mean()])
        if self.accelerator.num_processes > 1:  # the global batch's figures, as for the loss
            figures = self.accelerator.reduce(figures, reduction="mean")
        self.step_metrics = {"reward_margin": float(figures[0]), "preference_accuracy": float(figures[1])}
        return obj.dpo_loss(margin)

    def _global_draws(self, generator: torch.Generator, shape: torch.Size, num_real: int):
        """Timesteps and noise drawn for the whole global batch (generated rows of every process, then their
        real rows), and this process's rows taken from them: N processes draw what one process would, so the
        same seed and global batch give the same losses on any process count."""
        world, rank = self.accelerator.num_processes, self.accelerator.process_index
        num_generated = shape[0] - num_real
        total = (num_generated + num_real) * world
        timesteps = torch.randint(0, self.spec.num_train_timesteps, (total,), generator=generator)
        noise = torch.randn((total, *shape[1:]), generator=generator)
        rows = [*range(rank * num_generated, (rank + 1) * num_generated),
                *range(num_generated * world + rank * num_real, num_generated * world + (rank + 1) * num_real)]
        return timesteps[rows], noise[rows]

    def _edit_loss(self, indices: list[int], generator: torch.Generator) -> torch.Tensor:
        cfg, device = self.config, self.accelerator.device
        latents = self.data.latents[indices].to(device)
        embeds = self.data.embeds[indices].to(device)
        prompts = [self.data.prompts[i] for i in indices]
        with self.accelerator.autocast():
            edited = self.spec.edit(self.transformer, latents, embeds, cfg.sample_steps, cfg.edit_strength, generator)
        videos = self.spec.decode(edited)  # [B, T, 3, H, W]
        if getattr(self.reward_fn, "whole_video", False):
            # A video reward (the critic) judges the whole clip, motion included: no segment sampling.
            return 1.0 - self.reward_fn(videos, prompts, None).mean()
        num_frames = videos.shape[1]
        chosen = torch.stack([obj.segment_frame_indices(num_frames, cfg.edit_segments, generator) for _ in indices])
        frames = torch.stack([videos[b, chosen[b]] for b in range(len(indices))])  # [B, K, 3, H, W]
        flat = frames.reshape(-1, 1, *frames.shape[2:])
        rewards = self.reward_fn(flat, [p for p in prompts for _ in range(cfg.edit_segments)], {"frame_indices": chosen.tolist()})
        rewards = rewards.reshape(len(indices), cfg.edit_segments)
        weights = torch.stack([obj.temporal_attenuation_weights(c, num_frames, cfg.edit_attenuation) for c in chosen]).to(device)
        return obj.edit_reward_loss(rewards, weights)

    # ---- validation -------------------------------------------------------------------------

    def _validate(self) -> None:
        self.report(self.step / self.config.steps, "validating", {"step": self.step})
        result = evaluate_reward(
            self.spec,
            self.accelerator.unwrap_model(self.transformer),
            self.validation_prompts,
            self.config.validation_seeds,
            self.reward_fn,
            self.config,
            embeds=self.validation_embeds,
        )
        entry = {"step": self.step, **result}
        self.validation.append(entry)
        if self.accelerator.is_main_process:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            (self.output_dir / "validation.json").write_text(json.dumps(self.validation, indent=1))
        self.report(self.step / self.config.steps, "validated", {"step": self.step, "mean_reward": result["mean_reward"]})

    # ---- saving and resuming ----------------------------------------------------------------

    def _write_weights(self, directory: Path) -> None:
        transformer = self.accelerator.unwrap_model(self.transformer)
        if self.config.lora_rank is not None:
            from diffusers import CogVideoXPipeline
            from peft.utils import get_peft_model_state_dict

            CogVideoXPipeline.save_lora_weights(directory, transformer_lora_layers=get_peft_model_state_dict(transformer))
            meta = {
                "base": self.config.base,
                "base_identity": model_identity(self.config.base),
                "rank": self.config.lora_rank,
                "alpha": self.config.effective_lora_alpha,
                "targets": list(self.config.lora_targets),
            }
            (directory / META_NAME).write_text(json.dumps(meta, indent=1))
        else:
            transformer.save_pretrained(directory / "transformer")

    @property
    def reference_adapter(self) -> str | None:
        """The adapter DPO's reference runs with; None: the base with the adapter disabled."""
        cfg = self.config
        return REFERENCE_ADAPTER if cfg.objective == "dpo" and cfg.dpo_reference == "start" else None

    def _load_adapter(self, transformer, file: Path, adapter_name: str = "default") -> None:
        from diffusers import CogVideoXPipeline
        from peft.utils import set_peft_model_state_dict

        state = CogVideoXPipeline.lora_state_dict(str(file.parent), weight_name=file.name)
        state = state[0] if isinstance(state, tuple) else state
        state = {k.removeprefix("transformer."): v for k, v in state.items() if k.startswith("transformer.")}
        result = set_peft_model_state_dict(transformer, state, adapter_name=adapter_name)
        unexpected = getattr(result, "unexpected_keys", None)
        if unexpected:
            raise AlignConfigError(f"adapter {file} does not fit the transformer: unexpected keys {unexpected[:3]}")

    def _read_weights(self, directory: Path) -> None:
        transformer = self.accelerator.unwrap_model(self.transformer)
        if self.config.lora_rank is not None:
            self._load_adapter(transformer, directory / LORA_WEIGHTS_NAME)
        else:
            from diffusers import CogVideoXTransformer3DModel

            saved = CogVideoXTransformer3DModel.from_pretrained(directory / "transformer")
            transformer.load_state_dict(saved.state_dict())

    def _save_checkpoint(self) -> Path:
        state = {
            "step": self.step,
            "position": self.position,
            "real_position": self.real_position,
            "losses": self.losses,
            "validation": self.validation,
            "config": self.config.to_dict(),
        }
        return save_checkpoint(self.output_dir, self.step, write_weights=self._write_weights, optimizer=self.optimizer,
                               scheduler=self.lr_scheduler, state=state, keep=self.config.keep_checkpoints)

    def _resume(self, which: str) -> None:
        directory = latest_checkpoint(self.output_dir) if which == "latest" else Path(which)
        if directory is None:
            return  # nothing saved yet: a fresh start
        if not (directory / STATE_NAME).is_file():
            raise AlignConfigError(f"{directory} is not a checkpoint (no {STATE_NAME})")
        state = load_checkpoint(directory, read_weights=self._read_weights, optimizer=self.optimizer,
                                scheduler=self.lr_scheduler)
        self.step, self.position, self.real_position = state["step"], state["position"], state["real_position"]
        self.losses, self.validation = state["losses"], state["validation"]
        self.report(self.step / self.config.steps, "resumed", {"step": self.step, "from": str(directory)})

    def _save_final(self) -> Path:
        self.report(1.0, "saving", {})
        final = self.output_dir / ("lora" if self.config.lora_rank is not None else "final")
        if self.accelerator.is_main_process:
            with atomic_directory(final) as tmp:
                self._write_weights(tmp)
                (tmp / "align_config.json").write_text(self.config.to_json())
        self.accelerator.wait_for_everyone()
        return final


@contextmanager
def reference_model(transformer, adapter: str | None):
    """DPO's frozen reference inside the block: the base with the adapter disabled, or the named frozen adapter
    active instead of the trained one; the trained adapter is active again afterwards, even on an error."""
    if adapter is None:
        with adapter_disabled(transformer) as base:
            yield base
        return
    transformer.set_adapter(adapter)
    try:
        yield transformer
    finally:
        transformer.set_adapter("default")


@contextmanager
def adapter_disabled(transformer):
    """The base model inside the block (diffusers' peft integration: disable_adapters/enable_adapters, the same
    switch as peft's `disable_adapter()` context); the adapter is back on afterwards, even on an error."""
    transformer.disable_adapters()
    try:
        yield transformer
    finally:
        transformer.enable_adapters()


def align(
    config: AlignConfig,
    samples: Sequence[ScoredSample],
    real: Sequence[RealClip] = (),
    *,
    reward_fn: RewardFn | None = None,
    validation_prompts: Sequence[str] = (),
    on_progress: ProgressFn | None = None,
    device: str | None = None,
    pairs: Sequence[PreferencePair] = (),
) -> AlignResult:
    """Run one alignment job end to end; raises AlignConfigError before any work on bad input.

    The `dpo` objective takes `pairs` (and no samples); the others take scored `samples`."""
    return AlignTrainer(
        config, samples, real, reward_fn=reward_fn, validation_prompts=validation_prompts, on_progress=on_progress,
        device=device, pairs=pairs,
    ).run()
