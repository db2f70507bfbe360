"""AlignConfig: every setting of an alignment run, with a help string each and `validate()`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields

OBJECTIVES = ("reward_weighted", "rejection", "edit_reward", "dpo")
DPO_REFERENCES = ("base", "start")
MIXED_PRECISIONS = ("no", "bf16")
WEIGHT_DTYPES = ("auto", "float32", "bfloat16")
# Learning rates from the literature: LiFT's 1e-5 for full fine-tuning; for a CogVideoX LoRA the model's
# authors and diffusers' CogVideoX LoRA guide recommend 1e-4 to 1e-3 (a LoRA at 1e-5 barely moves).
FULL_LEARNING_RATE = 1e-5
LORA_LEARNING_RATE = 1e-4
# Diffusion-DPO's β (Wallace et al. 2023) is 5000 for SD1.5 and 2500 for SDXL on per-element-mean ε losses. Our
# per-sample loss is a per-element mean too ((x̂0 − x0)²/(1 − ᾱ) equals the v-prediction MSE), so the same order
# applies. We start a tenth below SD1.5's: the sigmoid saturates once the policy has moved the winner/loser loss
# gap by about 4/β, i.e. 0.01 rather than 0.001, which leaves a LoRA room to learn. Not tuned on CogVideoX yet.
DPO_BETA = 500.0
# Reward → weight schemes of objectives.sample_weights (defined here so the config needs no torch).
WEIGHTINGS = ("lift", "softmax", "topk", "uniform", "rejection")


class AlignConfigError(ValueError):
    """A run refused before any work; `reason` says why in words a user can act on."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _f(default, help: str, **kwargs):
    return field(default=default, metadata={"help": help}, **kwargs)


@dataclass
class AlignConfig:
    base: str = _f("", "CogVideoX pipeline to align: hub id or local directory (save_pretrained layout)")
    output_dir: str = _f("", "where checkpoints, the final adapter/weights and validation.json go")
    objective: str = _f("reward_weighted", f"one of {OBJECTIVES}")
    weighting: str = _f("lift", f"reward → weight for reward_weighted: one of {WEIGHTINGS[:4]}")
    temperature: float = _f(0.5, "softmax weighting: temperature τ on the reward")
    min_ess_fraction: float = _f(0.25, "softmax weighting: floor on effective sample size as a fraction of n")
    top_fraction: float = _f(0.25, "topk weighting: share of the best samples kept")
    per_prompt: bool = _f(False, "reward_weighted: weigh each prompt's samples among themselves, to mean 1 per prompt "
                                 "(the reward picks among a prompt's seeds, and every prompt keeps its share; topk "
                                 "keeps the best top_fraction of each prompt's, best-of-N at 1/N)")
    good_quantile: float = _f(0.75, "scalar rewards only: reward quantile from which a sample counts as Good")
    real_weight: float = _f(1.0, "λ: weight of the plain diffusion loss on the real/reference corpus "
                                 "(not used by dpo, whose reference model is its regulariser)")
    dpo_beta: float = _f(DPO_BETA, "dpo: β, the constant that scales the implicit reward (larger = closer to the reference)")
    dpo_reference: str = _f("base", "dpo: the frozen reference: 'base' (the base with the adapter disabled) or 'start' "
                                    "(the model training starts from, base + lora_init, held as a second frozen adapter: "
                                    "DPO after a supervised fine-tune)")
    learning_rate: float | None = _f(None, f"AdamW learning rate; None = {LORA_LEARNING_RATE:g} for a LoRA, "
                                          f"{FULL_LEARNING_RATE:g} (the paper's) for full fine-tuning")
    betas: tuple[float, float] = _f((0.9, 0.95), "AdamW betas")
    weight_decay: float = _f(0.0, "AdamW weight decay")
    max_grad_norm: float = _f(1.0, "gradient clipping norm")
    warmup_steps: int = _f(0, "linear learning-rate warm-up steps, then constant")
    steps: int = _f(1000, "optimizer steps")
    batch_size: int = _f(1, "generated samples per step (per process)")
    real_batch_size: int = _f(1, "real clips per step (per process) when λ > 0")
    lora_rank: int | None = _f(64, "LoRA rank; None = full fine-tuning of the transformer")
    lora_alpha: int | None = _f(None, "LoRA alpha; None = same as the rank")
    lora_init: str | None = _f(None, "start from this diffusers-format LoRA (must be for `base`)")
    lora_targets: tuple[str, ...] = _f(("to_q", "to_k", "to_v", "to_out.0"), "modules LoRA wraps")
    gradient_checkpointing: bool | None = _f(None, "recompute activations in backward: less memory, ~30% slower; "
                                                  "None = on for real-sized models (scale.MemoryProfile)")
    weight_dtype: str = _f("auto", "storage of T5, the VAE and a LoRA's frozen base: auto = bfloat16 on CUDA; float32 on "
                                   "the CPU whatever is asked (its half-precision convolutions are slow or missing); "
                                   "full fine-tuning keeps fp32 master weights of the transformer")
    mixed_precision: str = _f("bf16", "bf16 autocast on CUDA; always 'no' on CPU")
    frames: int = _f(49, "frames per video (8k+1 for CogVideoX)")
    height: int = _f(480, "pixels")
    width: int = _f(720, "pixels")
    max_sequence_length: int = _f(226, "text tokens; must match the model")
    sample_steps: int = _f(50, "denoising steps for validation/generation with our own DDIM loop")
    guidance: float = _f(6.0, "classifier-free guidance of validation and generated samples (the generator version's)")
    fps: float = _f(8.0, "frame rate real clips are sampled at: the model's own (CogVideoX-2B: 8)")
    validation_batch_size: int = _f(1, "videos decoded at once when validating (peak memory of one video)")
    edit_strength: float = _f(0.6, "edit_reward: share of the sampling chain re-noised and re-denoised")
    edit_segments: int = _f(4, "edit_reward: segments, one random frame scored from each")
    edit_attenuation: float = _f(1.0, "edit_reward: λ in exp(−λ·|i − F/2|)")
    checkpoint_every: int = _f(500, "save the whole training state every N steps (0 = never)")
    keep_checkpoints: int = _f(3, "checkpoints kept; older ones are deleted")
    resume: str | None = _f(None, "'latest' or a checkpoint directory to resume from")
    validation_every: int = _f(0, "generate on held-out prompts and score them every N steps (0 = only at the end)")
    validation_seeds: tuple[int, ...] = _f((0,), "seeds per held-out prompt (fixed so curves compare)")
    validate_at_end: bool = _f(True, "generate and score the held-out prompts after the last step (the align job "
                                     "measures those same samples itself, so it turns this off)")
    cache_dir: str | None = _f(None, "latent/embedding cache; default <output_dir>/cache")
    seed: int = _f(0, "seeds data order, noise, timesteps and LoRA init")
    vae_tiling: bool | None = _f(None, "VAE tiling for encode/decode: less memory at high resolution; None = by size")
    vae_slicing: bool | None = _f(None, "VAE slicing: batch items one at a time; None = by size")
    offload_text_encoder: bool | None = _f(None, "T5 on the CPU once the embeddings are cached; None = by size")
    offload_critic: bool | None = _f(None, "the critic on the CPU while the generator trains; None = by size")

    def __post_init__(self) -> None:
        if self.learning_rate is None:
            self.learning_rate = LORA_LEARNING_RATE if self.lora_rank is not None else FULL_LEARNING_RATE

    def validate(self) -> None:
        def need(ok: bool, reason: str) -> None:
            if not ok:
                raise AlignConfigError(reason)

        need(bool(self.base), "base must name the CogVideoX model to align")
        need(bool(self.output_dir), "output_dir must be set")
        need(self.objective in OBJECTIVES, f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        need(self.weighting in WEIGHTINGS[:4], f"weighting must be one of {WEIGHTINGS[:4]}, got {self.weighting!r}")
        need(self.temperature > 0, "temperature must be positive")
        need(0 < self.min_ess_fraction <= 1, "min_ess_fraction must lie in (0, 1]")
        need(0 < self.top_fraction <= 1, "top_fraction must lie in (0, 1]")
        need(not self.per_prompt or self.objective == "reward_weighted", "per_prompt applies to reward_weighted only")
        need(0 < self.good_quantile < 1, "good_quantile must lie in (0, 1)")
        need(self.real_weight >= 0, "real_weight (λ) must not be negative")
        need(self.learning_rate > 0, "learning_rate must be positive")
        need(len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas), "betas must be two numbers in [0, 1)")
        need(self.max_grad_norm > 0, "max_grad_norm must be positive")
        for name in ("steps", "batch_size", "frames", "height", "width", "max_sequence_length", "sample_steps"):
            need(getattr(self, name) >= 1, f"{name} must be at least 1, got {getattr(self, name)}")
        need(self.real_batch_size >= 0 and self.warmup_steps >= 0, "real_batch_size and warmup_steps must not be negative")
        need(self.lora_rank is None or self.lora_rank >= 1, "lora_rank must be at least 1 (or None for full fine-tuning)")
        need(self.lora_init is None or self.lora_rank is not None, "lora_init needs LoRA training (lora_rank set)")
        need(self.objective != "dpo" or self.lora_rank is not None,
             "dpo needs LoRA training (lora_rank set): its frozen reference is the base with the adapter disabled, "
             "which full fine-tuning does not have")
        need(self.dpo_beta > 0, "dpo_beta must be positive")
        need(self.dpo_reference in DPO_REFERENCES, f"dpo_reference must be one of {DPO_REFERENCES}")
        need(self.dpo_reference == "base" or self.lora_init is not None,
             "dpo_reference 'start' needs lora_init: the adapter the run starts from is its reference")
        need(self.mixed_precision in MIXED_PRECISIONS, f"mixed_precision must be one of {MIXED_PRECISIONS}")
        need(self.weight_dtype in WEIGHT_DTYPES, f"weight_dtype must be one of {WEIGHT_DTYPES}")
        need(self.guidance >= 0, "guidance must not be negative")
        need(self.fps > 0, "fps must be positive")
        need(self.validation_batch_size >= 1, "validation_batch_size must be at least 1")
        need(0 < self.edit_strength <= 1, "edit_strength must lie in (0, 1]")
        need(1 <= self.edit_segments <= self.frames, f"edit_segments must lie in [1, frames={self.frames}]")
        need(self.edit_attenuation >= 0, "edit_attenuation must not be negative")
        need(self.checkpoint_every >= 0 and self.validation_every >= 0, "checkpoint_every/validation_every must not be negative")
        need(self.keep_checkpoints >= 1, "keep_checkpoints must be at least 1")
        need(len(self.validation_seeds) >= 1, "validation_seeds needs at least one seed")

    @property
    def effective_lora_alpha(self) -> int | None:
        return self.lora_alpha if self.lora_alpha is not None else self.lora_rank

    def to_dict(self) -> dict:
        data = asdict(self)
        data["betas"] = list(self.betas)
        data["lora_targets"] = list(self.lora_targets)
        data["validation_seeds"] = list(self.validation_seeds)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> "AlignConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise AlignConfigError(f"unknown alignment settings: {', '.join(sorted(unknown))}")
        data = dict(data)
        for name in ("betas", "lora_targets", "validation_seeds"):
            if name in data and data[name] is not None:
                data[name] = tuple(data[name])
        return cls(**data)
