"""Supervised fine-tuning of a vision-language critic on rated (video, dimension) answers.

Stages, top to bottom: `_prepare_model` (load, LoRA or full), `_prepare_data` (sample frames once,
class weights), `_train` (the loop: answer-token loss, cosine schedule, periodic validation, early
stopping, whole-state checkpoints with exact resume), `_finish` (best weights → critic directory).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable

import numpy as np

from .data import CriticExample, class_counts, sample_frames_timed
from .loss import answer_loss, answer_start, class_weights, lr_factor, rating_probs
from .questions import DIMENSIONS, RATINGS, CriticDataError
from .score import GENERATED_FPS
from .spec import (CriticMeta, Query, VisionGeometry, collate, critic_dtype, load_tokenizer, merge_lora, rating_token_ids,
                   save_processor_files)

ProgressFn = Callable[[float, str, dict], None]
LLM_LORA_TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"


def _help(text: str, default):
    return field(default=default, metadata={"help": text})


@dataclass
class CriticTrainConfig:
    base: str = _help("Base model id or path (a Qwen2-VL / Qwen2.5-VL or any image-text-to-text model).", "")
    finetune: str = _help('"lora" (adapter on every LLM linear layer, vision frozen) or "full".', "lora")
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
        if self.finetune not in ("lora", "full"):
            problems.append(f"finetune must be 'lora' or 'full', got {self.finetune!r}")
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


@dataclass
class TrainResult:
    critic_dir: Path
    steps: int
    stopped_early: bool
    best_step: int
    best_metrics: dict
    loss_curve: list[tuple[int, float]]
    val_curve: list[dict]
    resumed_from: int | None = None


# ---------------------------------------------------------------------------------------------
# Small pure helpers


def epoch_order(num_examples: int, epoch: int, seed: int, weights: np.ndarray | None) -> np.ndarray:
    """The example order of one epoch: a permutation, or a weighted draw (balanced sampling)."""
    rng = np.random.default_rng([seed, epoch])
    if weights is None:
        return rng.permutation(num_examples)
    return rng.choice(num_examples, size=num_examples, replace=True, p=weights / weights.sum())


def batch_indices(num_examples: int, epoch: int, cursor: int, batch_size: int, seed: int, weights) -> tuple[list[int], int, int]:
    """Indices of the next batch from (epoch, cursor), and the position after it."""
    picked = []
    while len(picked) < batch_size:
        order = epoch_order(num_examples, epoch, seed, weights)
        take = order[cursor : cursor + batch_size - len(picked)]
        picked.extend(int(i) for i in take)
        cursor += len(take)
        if cursor >= num_examples:
            epoch, cursor = epoch + 1, 0
    return picked, epoch, cursor


def is_better(candidate: dict, best: dict | None, min_delta: float = 0.0) -> bool:
    """Higher mean accuracy wins; at equal accuracy, a rating NLL lower by more than min_delta."""
    if best is None:
        return True
    if candidate["accuracy"] != best["accuracy"]:
        return candidate["accuracy"] > best["accuracy"]
    return candidate["rating_nll"] < best["rating_nll"] - min_delta


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' asked for but CUDA is not available")
    return name


# ---------------------------------------------------------------------------------------------
# Checkpoints


def _checkpoints(out_dir: Path) -> list[tuple[int, Path]]:
    found = []
    for path in out_dir.glob("checkpoint-*"):
        suffix = path.name.split("-", 1)[1]
        if suffix.isdigit() and (path / "trainer_state.json").exists():
            found.append((int(suffix), path))
    return sorted(found)


def trainable_state(model) -> dict:
    return {n: p.detach().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}


def load_trainable_state(model, state: dict) -> None:
    import torch

    params = dict(model.named_parameters())
    missing = set(state) ^ {n for n, p in params.items() if p.requires_grad}
    if missing:
        raise RuntimeError(f"checkpoint does not match the model's trainable parameters: {sorted(missing)[:5]}")
    with torch.no_grad():
        for name, value in state.items():
            params[name].copy_(value)


def save_checkpoint(out_dir: Path, step: int, model, optimizer, state: dict, keep: int) -> Path:
    """Write checkpoint-{step}/ under a temporary name, rename it into place, rotate old ones."""
    import torch

    final = out_dir / f"checkpoint-{step}"
    tmp = out_dir / f".tmp-checkpoint-{step}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save(trainable_state(model), tmp / "trainable.pt")
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save({"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}, tmp / "rng.pt")
    if hasattr(model, "peft_config"):
        model.save_pretrained(tmp / "adapter")  # the adapter with its LoRA config, usable on its own
    (tmp / "trainer_state.json").write_text(json.dumps(state, indent=1))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    for _, old in _checkpoints(out_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(path: Path, model, optimizer) -> dict:
    import torch

    load_trainable_state(model, torch.load(path / "trainable.pt"))
    optimizer.load_state_dict(torch.load(path / "optimizer.pt"))
    rng = torch.load(path / "rng.pt", weights_only=False)
    torch.set_rng_state(rng["torch"])
    if rng["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    return json.loads((path / "trainer_state.json").read_text())


# ---------------------------------------------------------------------------------------------
# Stages


def _prepare_model(config: CriticTrainConfig, device: str):
    import torch
    from transformers import AutoModelForImageTextToText

    base_meta = CriticMeta.load(config.base)
    # A LoRA trains fp32 adapters on a base stored in bf16 on CUDA; full fine-tuning keeps fp32 master weights.
    dtype = critic_dtype("auto", device) if config.finetune == "lora" else torch.float32
    model = AutoModelForImageTextToText.from_pretrained(config.base, dtype=dtype)
    tokenizer = load_tokenizer(config.base)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    geometry = VisionGeometry.from_config(model.config)
    num_frames = config.num_frames or base_meta.num_frames
    frame_size = geometry.snap(tuple(config.frame_size or base_meta.frame_size))
    if config.finetune == "lora":
        from peft import LoraConfig, get_peft_model

        torch.manual_seed(config.seed)
        lora = LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                          target_modules=LLM_LORA_TARGETS, bias="none")
        model = get_peft_model(model, lora)
        for parameter in model.parameters():
            if parameter.requires_grad:
                parameter.data = parameter.data.float()
    if device == "cuda" and config.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    model.to(device)
    # Frames sized as the base's processor sizes them, unless a fixed frame_size is asked for.
    bounds = (base_meta.min_pixels, base_meta.max_pixels) if config.frame_size is None else (None, None)
    meta = CriticMeta(num_frames=num_frames, frame_size=frame_size, base=config.base, origin="trained",
                      with_reasons=config.with_reasons, min_pixels=bounds[0], max_pixels=bounds[1])
    return model, tokenizer, geometry, meta


def _prepare_data(examples: list[CriticExample], meta: CriticMeta, name: str, geometry: VisionGeometry) -> list[Query]:
    """Sample every video's frames once (compute once), shared between its dimension queries."""
    if not examples:
        raise CriticDataError(f"the {name} split is empty")
    cache: dict = {}
    queries = []
    for example in examples:
        example.validate()
        key = id(example.video) if not isinstance(example.video, (str, Path)) else str(example.video)
        if key not in cache:
            cache[key] = sample_frames_timed(example.video, meta.num_frames,
                                             lambda h, w: meta.frame_size_for(h, w, geometry), GENERATED_FPS)
        frames, fps = cache[key]
        queries.append(Query(frames, example.caption, example.dimension, example.rating, example.reason, fps=fps))
    return queries


def _example_weights(queries: list[Query], balance: str) -> np.ndarray:
    counts = class_counts([CriticExample(None, "", q.dimension, q.rating) for q in queries])
    per_dim = {d: class_weights(counts[d], RATINGS) for d in DIMENSIONS}
    if balance == "none":
        return np.ones(len(queries))
    return np.array([per_dim[q.dimension][q.rating] for q in queries])


def _forward(model, batch: dict, device: str, bf16: bool):
    import torch

    batch = {k: v.to(device) for k, v in batch.items() if k != "labels"}
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=(device == "cuda" and bf16)):
        return model(**batch).logits


def evaluate_queries(model, tokenizer, geometry, queries: list[Query], *, batch_size: int, device: str,
                     bf16: bool = False, with_reason: bool = True) -> dict:
    """Validation: answer loss, rating NLL and rating accuracy (argmax of the three words)."""
    import torch

    rating_ids = rating_token_ids(tokenizer)
    model.eval()
    losses, nlls, correct = [], [], {d: [] for d in DIMENSIONS}
    with torch.no_grad():
        for start in range(0, len(queries), batch_size):
            chunk = queries[start : start + batch_size]
            batch = collate(tokenizer, chunk, geometry, with_reason=with_reason, with_answer=True)
            logits = _forward(model, batch, device, bf16).float().cpu()
            losses.append(answer_loss(logits, batch["labels"]).item() * len(chunk))
            probs = rating_probs(logits, answer_start(batch["labels"]), rating_ids)
            truth = torch.tensor([RATINGS.index(q.rating) for q in chunk])
            nlls.append(-probs[torch.arange(len(chunk)), truth].clamp_min(1e-12).log().sum().item())
            for q, hit in zip(chunk, (probs.argmax(1) == truth).tolist()):
                correct[q.dimension].append(hit)
    model.train()
    per_dim = {d: float(np.mean(v)) for d, v in correct.items() if v}
    return {
        "loss": sum(losses) / len(queries),
        "rating_nll": sum(nlls) / len(queries),
        "accuracy": float(np.mean(list(per_dim.values()))),
        "accuracy_per_dimension": per_dim,
    }


def _finish(model, tokenizer, meta: CriticMeta, out_dir: Path, best_state: dict | None, metrics: dict) -> Path:
    """Best weights into out_dir/critic/: a full (LoRA merged) transformers directory + critic meta."""
    if best_state is not None:
        load_trainable_state(model, best_state)
    critic_dir = out_dir / "critic"
    tmp = out_dir / f".tmp-critic-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    if hasattr(model, "peft_config"):
        model.save_pretrained(tmp / "adapter")
    merged = merge_lora(model)  # in place: training is over, no second copy in memory
    merged.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    save_processor_files(tmp, meta.base, VisionGeometry.from_config(merged.config), meta)
    meta.metrics = metrics
    meta.adapter = False
    meta.save(tmp)
    shutil.rmtree(critic_dir, ignore_errors=True)
    os.replace(tmp, critic_dir)
    return critic_dir


def train_critic(config: CriticTrainConfig, train_examples: list[CriticExample], val_examples: list[CriticExample],
                 out_dir: str | Path, on_progress: ProgressFn | None = None) -> TrainResult:
    """Fine-tune `config.base` on the examples; the trained critic lands in out_dir/critic/.

    Raises CriticDataError on bad data and ValueError on a bad config before any training step.
    """
    import torch

    config.validate()
    on_progress = on_progress or (lambda fraction, phase, metrics: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    device = resolve_device(config.device)
    on_progress(0.0, "prepare", {})
    model, tokenizer, geometry, meta = _prepare_model(config, device)
    train_queries = _prepare_data(train_examples, meta, "train", geometry)
    val_queries = _prepare_data(val_examples, meta, "validation", geometry)
    weights = _example_weights(train_queries, config.balance)
    sampler_weights = weights if config.balance == "sampler" else None
    loss_weights = torch.tensor(weights, dtype=torch.float32) if config.balance == "weights" else None
    (out_dir / "train_config.json").write_text(json.dumps(config.to_dict(), indent=1))

    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    warmup = int(config.warmup_ratio * config.max_steps)
    state = {"step": 0, "epoch": 0, "cursor": 0, "loss_curve": [], "val_curve": [], "best": None,
             "best_step": 0, "bad_evals": 0, "stopped_early": False}
    best_path = out_dir / "best_trainable.pt"
    best_state = None
    resumed_from = None
    existing = _checkpoints(out_dir) if config.resume else []
    if existing:
        resumed_from, path = existing[-1]
        state = load_checkpoint(path, model, optimizer)
        if best_path.exists():
            best_state = torch.load(best_path)
    else:
        torch.manual_seed(config.seed)

    while state["step"] < config.max_steps and not state["stopped_early"]:
        step = state["step"]
        picked, state["epoch"], state["cursor"] = batch_indices(
            len(train_queries), state["epoch"], state["cursor"], config.batch_size, config.seed, sampler_weights)
        batch = collate(tokenizer, [train_queries[i] for i in picked], geometry,
                        with_reason=config.with_reasons, with_answer=True)
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate * lr_factor(step, config.max_steps, warmup)
        logits = _forward(model, batch, device, config.bf16)
        batch_weights = loss_weights[picked] if loss_weights is not None else None
        loss = answer_loss(logits, batch["labels"].to(device), batch_weights.to(device) if batch_weights is not None else None,
                           rating_weight=config.rating_weight)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss is {loss.item()} at step {step}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
        optimizer.step()
        state["step"] = step + 1
        state["loss_curve"].append([state["step"], round(float(loss.item()), 6)])
        last = state["step"] == config.max_steps
        if (config.eval_every and state["step"] % config.eval_every == 0) or last:
            metrics = evaluate_queries(model, tokenizer, geometry, val_queries, batch_size=config.eval_batch_size,
                                       device=device, bf16=config.bf16, with_reason=config.with_reasons)
            metrics["step"] = state["step"]
            state["val_curve"].append(metrics)
            if is_better(metrics, state["best"], config.min_delta):
                state["best"], state["best_step"], state["bad_evals"] = metrics, state["step"], 0
                best_state = trainable_state(model)
                torch.save(best_state, best_path)
            else:
                state["bad_evals"] += 1
                if config.patience and state["bad_evals"] >= config.patience:
                    state["stopped_early"] = True
            on_progress(state["step"] / config.max_steps, "evaluate", {"val": metrics})
        if config.checkpoint_every and state["step"] % config.checkpoint_every == 0:
            save_checkpoint(out_dir, state["step"], model, optimizer, state, config.checkpoints_to_keep)
        on_progress(state["step"] / config.max_steps, "train",
                    {"step": state["step"], "loss": state["loss_curve"][-1][1], "loss_curve": state["loss_curve"]})

    on_progress(1.0, "save", {})
    best = state["best"] or {}
    critic_dir = _finish(model, tokenizer, meta, out_dir, best_state, {"validation": best, "best_step": state["best_step"]})
    result = TrainResult(critic_dir, state["step"], state["stopped_early"], state["best_step"], best,
                         [tuple(x) for x in state["loss_curve"]], state["val_curve"], resumed_from)
    on_progress(1.0, "done", {"best": best, "loss_curve": state["loss_curve"]})
    return result
