"""CriticTrainConfig: every setting of a critic training run, with a help string each and `validate()`.
No torch here, so the web process can check a request and describe the settings."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields


# The train_critic job's short parameter names for config fields (a base's recipe is written in them too);
# every other job parameter is the field's own name.
JOB_FIELD_NAMES = {"steps": "max_steps", "lr": "learning_rate", "frames": "num_frames"}
FINETUNE_MODES = ("lora", "full", "language")


def _help(text: str, default):
    return field(default=default, metadata={"help": text})


@dataclass
class CriticTrainConfig:
    base: str = _help("Base model id or path (a Qwen2-VL / Qwen2.5-VL or any image-text-to-text model).", "")
    finetune: str = _help('"lora" (adapter on every LLM linear layer, vision frozen), "full" (every weight), or '
                          '"language" (every weight of the language model, the vision tower frozen: a few hundred '
                          'ratings overfit a tower pretrained on many videos; bench/RESULTS.md "3d").', "lora")
    lora_rank: int = _help("LoRA rank.", 16)
    lora_alpha: int = _help("LoRA alpha (scale = alpha / rank).", 32)
    lora_dropout: float = _help("LoRA dropout.", 0.0)
    with_reasons: bool = _help("Train on '<Rating>. <reason>'; False trains on the rating word alone.", True)
    rating_weight: float = _help("Loss weight of the rating word against one reason token (with reasons the answer "
                                 "is ~15 tokens; 1 lets the reason drown the rating).", 1.0)
    balance: str = _help('Skewed labels: "weights" (inverse class frequency per dimension), "sampler" '
                         '(balanced sampling), or "none".', "weights")
    num_frames: int = _help("Frames sampled at equal intervals per video (0: the base's critic meta).", 0)
    frame_size: tuple[int, int] | None = _help("(height, width), snapped to patch multiples; None: from meta.", None)
    learning_rate: float = _help("Peak AdamW learning rate.", 1e-4)
    weight_decay: float = _help("AdamW weight decay.", 0.0)
    warmup_ratio: float = _help("Fraction of steps for linear warm-up before cosine decay.", 0.03)
    batch_size: int = _help("Queries per optimiser step.", 8)
    max_steps: int = _help("Optimiser steps (upper bound; early stopping may end sooner).", 200)
    max_grad_norm: float = _help("Gradient clipping norm (0: off).", 1.0)
    eval_every: int = _help("Validate every this many steps (0: only at the end).", 50)
    eval_batch_size: int = _help("Queries per validation forward pass.", 32)
    patience: int = _help("Stop after this many validations without improvement (0: never).", 0)
    min_delta: float = _help("At equal accuracy, the validation rating NLL must fall by this much to count.", 1e-3)
    ema_decay: float = _help("Validate and keep an exponential moving average of the trained weights with this decay "
                             "(0: the weights of the step itself). It holds one more copy of the weights that train.",
                             0.0)
    checkpoint_every: int = _help("Write checkpoint-{step}/ every this many steps (0: never).", 0)
    checkpoints_to_keep: int = _help("Keep at most this many checkpoints (oldest removed).", 2)
    resume: bool = _help("Resume from the latest checkpoint in out_dir if there is one.", True)
    seed: int = _help("Seed of the data order and the LoRA initialisation.", 0)
    device: str = _help('"auto" (CUDA when available), "cpu" or "cuda".', "auto")
    bf16: bool = _help("bf16 autocast (CUDA only; ignored on CPU).", True)
    gradient_checkpointing: bool = _help("Gradient checkpointing (CUDA only; ignored on CPU).", True)
    num_threads: int = _help("torch CPU threads (0: leave torch's default).", 0)

    def validate(self) -> None:
        problems = []
        if not self.base:
            problems.append("base is required")
        if self.finetune not in FINETUNE_MODES:
            problems.append(f"finetune must be one of {', '.join(FINETUNE_MODES)}, got {self.finetune!r}")
        if self.balance not in ("weights", "sampler", "none"):
            problems.append(f"balance must be weights, sampler or none, got {self.balance!r}")
        for name in ("lora_rank", "lora_alpha", "batch_size", "max_steps", "eval_batch_size", "checkpoints_to_keep"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1")
        for name in ("eval_every", "patience", "checkpoint_every", "num_frames", "num_threads"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must not be negative")
        if not 0 <= self.warmup_ratio < 1:
            problems.append("warmup_ratio must lie in [0, 1)")
        if not 0 <= self.ema_decay < 1:
            problems.append("ema_decay must lie in [0, 1)")
        if not (self.rating_weight > 0 and math.isfinite(self.rating_weight)):
            problems.append("rating_weight must be positive")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            problems.append("learning_rate must be positive")
        if self.device not in ("auto", "cpu", "cuda"):
            problems.append(f"device must be auto, cpu or cuda, got {self.device!r}")
        if self.frame_size is not None and (len(self.frame_size) != 2 or min(self.frame_size) < 1):
            problems.append("frame_size must be (height, width)")
        if problems:
            raise ValueError("; ".join(problems))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def help(cls) -> dict[str, str]:
        return {f.name: f.metadata["help"] for f in fields(cls)}
