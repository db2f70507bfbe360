"""Pretraining the tiny critic to see the synthetic world, as a real critic starts from a vision-language
model that has seen the real one.

The model is asked about world renders and taught the renderer's answers (synthetic/describe.py):
questions about one fact each (count, colour, shape, motion, scene, how the clip's instants are spaced,
how much the objects shake, what damaged the picture), half of them after a caption; whether the video
shows a caption (the prompt, or the prompt with one attribute changed: video-text matching, as
vision-language models are pretrained); and LiFT's three questions after the prompt, answered with the
facts each is about (how far the video is from the prompt and in what, how the objects move, how the
picture looks). Short answers put the fact in the first answer token, where a rating will later be read.
It never sees a rating: learning those is left to `train_critic`.

Deterministic on the CPU: the videos, the batch order and the initialisation follow from the seed,
and torch runs on `num_threads` threads.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from ..critic.loss import answer_loss, lr_factor
from ..critic.score import GENERATED_FPS
from ..critic.questions import DIMENSIONS, MATCH_QUESTION, WORLD_QUESTIONS, user_text
from ..critic.spec import CriticMeta, Turn, VisionGeometry, collate_turns, load_tokenizer
from ..synthetic import CLIP_FRAMES, CLIP_SIZE, Defects, SceneSpec, sample_defects, sample_prompt
from ..synthetic.defects import STILL, shown_colour, shown_count, shown_motion
from ..synthetic.describe import facts
from ..synthetic.grammar import COLOURS, COUNTS, MOTIONS
from ..synthetic.render import Rendered, render_with_truth
from ..video_io import as_stored

ProgressFn = Callable[[float, str, dict], None]

# How to fine-tune this critic on ratings (the train_critic job's defaults on it), measured in
# bench/RESULTS.md "3d"–"3e": the language model only (a few hundred ratings undo what the vision tower learnt
# from 80,000 renders), the rating word alone (reasons cost points here) and no class weights; "3k": validate and
# keep a moving average of the weights (decay 0.99), which smooths the step-to-step noise of so small a fine-tune.
RATING_RECIPE = {"finetune": "language", "with_reasons": False, "balance": "none", "lr": 1e-3, "batch_size": 16,
                 "steps": 1200, "warmup_ratio": 0.01, "eval_every": 100, "checkpoint_every": 500, "ema_decay": 0.99}

# How often each question is asked, in WORLD_QUESTIONS order, then the caption match, then LiFT's three
# questions (answered with what the renderer knows, never with a rating).
QUESTION_SHARE = np.array([0.07, 0.07, 0.04, 0.07, 0.04, 0.07, 0.07, 0.07, 0.2, 0.1, 0.1, 0.1])


def _issue_turns(frames, spec: SceneSpec, defects: Defects, told: dict) -> list[Turn]:
    """LiFT's questions after the prompt, answered with the facts each is about: whether the video shows
    the prompt, how the objects move, how the picture looks. A vision-language model learns to describe
    such issues before anyone asks it for a rating; without these turns the new questions' wording had to
    be routed to the video during rating fine-tuning, and 800 steps on 600 rated videos did not do it."""
    shown = _match_answer(spec, defects, spec)
    answers = {"semantic": shown, "motion": _motion_answer(told), "fidelity": told["picture"]}
    return [Turn(frames, user_text(spec.to_text(), dim), answers[dim]) for dim in DIMENSIONS]


def _motion_answer(told: dict) -> str:
    """What is wrong with the motion first ("even", "one skip", "slight shake", "repeats", ...), then the motion.
    The flaw's first word tells how bad it is (even / one or slight / the rest), so it stands where a rating
    is later read: with the motion word first, the rating was linearly readable there in 0.64–0.68 of held-out
    videos against 0.86–0.97 for the other two dimensions (bench/RESULTS.md "3h")."""
    if told["timing"] != "even":
        flaw = told["timing"]
    else:
        flaw = "even" if told["shake"] == "none" else f"{told['shake']} shake"
    return f"{flaw}, {told['motion']}"


@dataclass
class PretrainConfig:
    videos: int = field(default=40000, metadata={"help": "world renders to learn from in each phase (each seen steps·batch/videos "
                                                    "times); with 3,000 the tower memorised them (bench/RESULTS.md 3d)"})
    phases: int = field(default=3, metadata={
        "help": "rounds of pretraining, each on fresh renders (seed + phase) with a fresh warm-up, schedule and probes, "
                "from the previous round's weights: a second round of 40,000 took the facts a rating needs from "
                '0.73–0.89 to 0.94–0.99 (bench/RESULTS.md "3d"), a third the picture from 0.89 to 0.93 ("3i")'})
    stored_share: float = field(default=0.5, metadata={
        "help": "share of the renders shown as the platform stores videos (H.264 / yuv420p, decoded again): the "
                "critic is fine-tuned and scores on stored videos, whose grain the codec halves"})
    final_stored_share: float | None = field(default=1.0, metadata={
        "help": "the last phase's share of stored renders, where it differs from stored_share: a third phase on "
                "stored renders alone ended the base where the critic is used, and its ratings reached 0.90 on "
                'every dimension (bench/RESULTS.md "3i")'})
    eval_videos: int = field(default=256, metadata={"help": "held-out renders for the description accuracy"})
    steps: int = field(default=8000, metadata={"help": "optimiser steps per phase"})
    batch_size: int = field(default=32, metadata={"help": "videos per step"})
    learning_rate: float = field(default=2e-3, metadata={"help": "peak AdamW learning rate (warm-up, then cosine)"})
    occupancy_weight: float = field(default=10.0, metadata={
        "help": "weight of the dense targets: linear probes (dropped after pretraining) read from each merged video "
                "token how much of each of its patches the objects cover in each frame and how much damage changed "
                "it, and from the clip's tokens the instant and shake of each frame. They teach the vision tower "
                "what the words are about; question answering alone left shape, count and motion at chance for "
                "1500 steps and the picture's damage at the majority answer"})
    fact_weight: float = field(default=1.0, metadata={
        "help": "weight of the clip facts read straight from the vision tower: linear probes (dropped after "
                "pretraining) classify the mean of the clip's video tokens into each of the renderer's facts "
                "(count, colour, shape, motion, scene, timing, shake, picture)"})
    fact_readout: str = field(default="mean+std", metadata={
        "help": 'what the fact probes read: "mean" (the mean video token), or "mean+std" (beside those, a second '
                "set reads the mean and the standard deviation of the tokens over the clip: a repeated frame or "
                "grain shows as token-to-token variation that a mean cancels, and with this second set the tower "
                'learnt to carry the damage in the mean as well: bench/RESULTS.md "3c")'})
    vision_width: int = field(default=64, metadata={"help": "the vision tower's width (its merger still outputs the language model's 64)"})
    vision_layers: int = field(default=2, metadata={"help": "the vision tower's depth"})
    warmup_steps: int = field(default=100, metadata={"help": "linear warm-up steps"})
    p_clean: float = field(default=0.4, metadata={"help": "share of clean dimensions in the renders (sample_defects)"})
    seed: int = field(default=0, metadata={"help": "seeds the renders, their order and the model's initialisation"})
    num_threads: int = field(default=1, metadata={"help": "torch CPU threads (1 keeps the build bit-for-bit repeatable)"})


def _caption(spec: SceneSpec, rng: np.random.Generator) -> SceneSpec:
    """The prompt, or the prompt with its colour, count or motion changed (three times in four)."""
    change = rng.choice(["none", "colour", "count", "motion"])
    if change == "colour":
        return replace(spec, colour=str(rng.choice([c for c in COLOURS if c != spec.colour])))
    if change == "count":
        return replace(spec, count=int(rng.choice([n for n in COUNTS.values() if n != spec.count])))
    if change == "motion":
        return replace(spec, motion=str(rng.choice([m for m in MOTIONS if m != spec.motion])))
    return spec


def _match_answer(spec: SceneSpec, defects: Defects, caption: SceneSpec) -> str:
    """Whether the video of (spec, defects) shows `caption`, how far first: "yes", or "slightly" / "no" with
    what differs ("slightly colour", "no count motion"). "slightly" is the halfway cases (a colour between
    the caption's and another, a count that changes halfway, objects standing still); with the severity first,
    how far a video is from its prompt is in the answer's first token, where a rating will later be read (an
    answer that named only what differs left mild and severe alike there: bench/RESULTS.md "3e")."""
    shown_name, _ = shown_colour(spec, defects)
    first, second = shown_count(spec, defects)
    motion = shown_motion(spec, defects)
    levels = {
        "colour": "yes" if shown_name == caption.colour else
                  "slightly" if shown_name.startswith("between") and caption.colour in shown_name.split() else "no",
        "count": "yes" if first == second == caption.count else "slightly" if caption.count in (first, second) else "no",
        "motion": "yes" if motion == caption.motion else "slightly" if motion == STILL else "no",
    }
    differs = [part for part, level in levels.items() if level != "yes"]
    if not differs:
        return "yes"
    return f"{'no' if 'no' in levels.values() else 'slightly'} {' '.join(differs)}"


@dataclass
class WorldVideo:
    """A render, every question about it with the renderer's answer, and the renderer's dense targets."""

    turns: list[Turn]
    tokens: np.ndarray  # [video tokens, k]: per merged token, coverage per patch and frame, damage per patch
    clip: np.ndarray  # [2T]: the instant each frame shows, and how far the shake moved the objects
    facts: dict  # the renderer's facts (synthetic/describe.py), part → words


def per_token(values: np.ndarray, patch: int, merge: int) -> np.ndarray:
    """[T, H, W] → per merged video token (Qwen2-VL's order: rows, columns, then its patches), each of its
    patches' mean in each frame: [tokens, merge² · T]."""
    frames, height, width = values.shape
    grid_h, grid_w = height // patch, width // patch
    per_patch = values.reshape(frames, grid_h, patch, grid_w, patch).mean(axis=(2, 4))
    tokens = per_patch.reshape(frames, grid_h // merge, merge, grid_w // merge, merge)
    return tokens.transpose(1, 3, 2, 4, 0).reshape((grid_h // merge) * (grid_w // merge), merge * merge * frames)


def dense_targets(rendered: Rendered, geometry: VisionGeometry, size: tuple[int, int]):
    """What the renderer knows densely: where the objects are (coverage per patch and frame), how much the
    picture damage changed each patch, and per frame the instant shown and the shake."""
    patch, merge = geometry.patch_size, geometry.merge_size
    cover = per_token(rendered.coverage, patch, merge)
    damage = np.abs(rendered.frames.astype(np.float32) - rendered.undamaged).mean(axis=-1) / 64.0
    damage = per_token(damage, patch, merge).reshape(len(cover), merge * merge, -1).mean(axis=-1)
    clip = np.concatenate([rendered.layout.tau, 10.0 * rendered.layout.shake / min(size)])
    return np.concatenate([cover, damage], axis=1).astype(np.float32), clip.astype(np.float32)


def world_videos(count: int, seed: int, p_clean: float, geometry: VisionGeometry, stored_share: float = 0.0) -> list[WorldVideo]:
    """`count` renders with their questions and dense targets; `stored_share` of them (drawn at random) are
    shown as the platform's storage gives them back, while the targets stay the renderer's."""
    rng = np.random.default_rng([seed, 17])
    drawn = []
    for index in range(count):
        spec, defects = sample_prompt(rng), sample_defects(rng, p_clean)
        rendered = render_with_truth(spec, defects, frames=CLIP_FRAMES, size=CLIP_SIZE, seed=seed * 1_000_003 + index)
        # Half the questions follow a caption (the prompt or a changed one), as a rating question follows
        # the prompt: without it the model answered from the video only right after the video, and a
        # caption before the question made it read the caption instead (colour 0.98 → 0.03).
        captioned = [(_caption(spec, rng) if rng.random() < 0.5 else None) for _ in WORLD_QUESTIONS]
        # Only the frames and the dense targets are kept: a whole render is 40× their size.
        drawn.append((rendered.frames, spec, defects, captioned, _caption(spec, rng), dense_targets(rendered, geometry, CLIP_SIZE)))
    shown = [frames for frames, *_ in drawn]
    stored = np.flatnonzero(np.random.default_rng([seed, 29]).random(count) < stored_share)
    if len(stored):
        for index, frames in zip(stored, as_stored([shown[i] for i in stored], fps=GENERATED_FPS)):
            shown[index] = frames
    videos = []
    for frames, (_, spec, defects, captioned, match_caption, targets) in zip(shown, drawn):
        told = facts(spec, defects)
        turns = [Turn(frames, question if caption is None else f"{caption.to_text()} {question}", told[part])
                 for (part, question), caption in zip(WORLD_QUESTIONS.items(), captioned)]
        turns.append(Turn(frames, MATCH_QUESTION.format(caption=match_caption.to_text()),
                          _match_answer(spec, defects, match_caption)))
        turns.extend(_issue_turns(frames, spec, defects, told))
        videos.append(WorldVideo(turns, *targets, told))
    return videos


def _as_stored(videos: list[WorldVideo]) -> list[WorldVideo]:
    """The same videos and questions, every one shown as the platform stores it."""
    stored = as_stored([video.turns[0].frames for video in videos], fps=GENERATED_FPS)
    return [replace(video, turns=[replace(turn, frames=frames) for turn in video.turns])
            for video, frames in zip(videos, stored)]


def answer_accuracy(model, tokenizer, geometry, videos: list[WorldVideo], batch_size: int = 64) -> dict:
    """Per question, the share of held-out videos whose whole answer the model gets right (teacher forced)."""
    import torch

    kinds = [*WORLD_QUESTIONS, "match", *(f"issues {d}" for d in DIMENSIONS)]
    right: dict[str, list[bool]] = {kind: [] for kind in kinds}
    flat = [(kind, turn) for video in videos for kind, turn in zip(kinds, video.turns)]
    model.eval()
    with torch.no_grad():
        for start in range(0, len(flat), batch_size):
            chunk = flat[start : start + batch_size]
            batch = collate_turns(tokenizer, [turn for _, turn in chunk], geometry)
            logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
            predicted, labels = logits[:, :-1].argmax(-1), batch["labels"][:, 1:]
            for row, (kind, _) in enumerate(chunk):
                mask = labels[row] != -100
                right[kind].append(bool((predicted[row][mask] == labels[row][mask]).all()))
    model.train()
    return {kind: round(float(np.mean(values)), 4) for kind, values in right.items()}


def _pretrain_phase(model, tokenizer, geometry, train: list[WorldVideo], config: PretrainConfig, seed: int,
                    report: Callable[[float, dict], None]) -> list[list[float]]:
    """One round of pretraining on `train`: fresh probes, optimiser, warm-up and cosine schedule. Its losses."""
    import torch

    torch.manual_seed(seed)
    # Linear probes of the video tokens onto the dense targets (dropped after pretraining).
    width = model.config.vision_config.hidden_size
    token_probe = torch.nn.Linear(width, train[0].tokens.shape[1])
    clip_probe = torch.nn.Linear(width, train[0].clip.shape[0])
    fact_classes = {part: sorted({video.facts[part] for video in train}) for part in train[0].facts}
    fact_targets = {part: torch.tensor([classes.index(video.facts[part]) for video in train])
                    for part, classes in fact_classes.items()}
    # Made only when used: their initialisation draws from torch's generator.
    fact_probes = torch.nn.ModuleDict({part: torch.nn.Linear(width, len(classes)) for part, classes in fact_classes.items()}
                                      ) if config.fact_weight else None
    spread_probes = torch.nn.ModuleDict({part: torch.nn.Linear(2 * width, len(classes))
                                         for part, classes in fact_classes.items()}
                                        ) if config.fact_weight and config.fact_readout == "mean+std" else None
    seen = {}
    hook = model.model.visual.register_forward_hook(lambda module, inputs, output: seen.__setitem__("tokens", output.pooler_output))
    probes = [*token_probe.parameters(), *clip_probe.parameters()]
    if config.fact_weight:
        probes += list(fact_probes.parameters())
    if spread_probes is not None:
        probes += list(spread_probes.parameters())
    optimizer = torch.optim.AdamW([*model.parameters(), *probes], lr=config.learning_rate, weight_decay=0.01)
    order_rng = np.random.default_rng([seed, 23])
    order: list[int] = []
    losses = []
    model.train()
    for step in range(config.steps):
        if len(order) < config.batch_size:
            order.extend(order_rng.permutation(len(train)).tolist())
        picked, order = order[: config.batch_size], order[config.batch_size :]
        # One question per video, drawn afresh each time the video comes round; comparing a caption with
        # the video is the hardest skill and the one a semantic rating needs, so it is asked most.
        kinds = order_rng.choice(len(QUESTION_SHARE), size=len(picked), p=QUESTION_SHARE)
        turns = [train[i].turns[int(k)] for i, k in zip(picked, kinds)]
        batch = collate_turns(tokenizer, turns, geometry)
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate * lr_factor(step, config.steps, config.warmup_steps)
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
        answers = answer_loss(logits, batch["labels"])
        tokens = seen["tokens"]
        token_target = torch.from_numpy(np.concatenate([train[i].tokens for i in picked]))
        clip_target = torch.from_numpy(np.stack([train[i].clip for i in picked]))
        clip_tokens = tokens.reshape(len(picked), -1, tokens.shape[-1])
        pooled = clip_tokens.mean(dim=1)
        occupancy = (torch.nn.functional.mse_loss(token_probe(tokens), token_target)
                     + torch.nn.functional.mse_loss(clip_probe(pooled), clip_target))
        loss = answers + config.occupancy_weight * occupancy
        if config.fact_weight:
            rows = torch.tensor(picked)
            told = sum(torch.nn.functional.cross_entropy(fact_probes[part](pooled), targets[rows])
                       for part, targets in fact_targets.items()) / len(fact_targets)
            if spread_probes is not None:
                spread = torch.cat([pooled, clip_tokens.std(dim=1)], dim=-1)
                told = told + sum(torch.nn.functional.cross_entropy(spread_probes[part](spread), targets[rows])
                                  for part, targets in fact_targets.items()) / len(fact_targets)
            loss = loss + config.fact_weight * told
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append([round(answers.item(), 5), round(occupancy.item(), 6)])
        if (step + 1) % 50 == 0 or step + 1 == config.steps:
            recent = np.mean(losses[-50:], axis=0)
            report((step + 1) / config.steps, {"step": step + 1, "loss": float(recent[0]), "occupancy_mse": float(recent[1])})
    hook.remove()
    return losses


def build_metrics(phases: list[dict]) -> dict:
    """A build's figures from its phases' own: the last phase's held-out figures, the times summed, every phase."""
    return {**phases[-1], "render_s": round(sum(p["render_s"] for p in phases), 1),
            "train_s": round(sum(p["train_s"] for p in phases), 1), "phases": phases}


def pretrain_critic(base_dir: str | Path, out_dir: str | Path, config: PretrainConfig | None = None,
                    on_progress: ProgressFn | None = None) -> dict:
    """Pretrain the critic in `base_dir` (a tiny random one) on world descriptions, in `config.phases` rounds of
    fresh renders; save it to `out_dir`. Held-out accuracy after each round, on raw and on stored renders."""
    import torch
    from transformers import AutoModelForImageTextToText

    config = config or PretrainConfig()
    if config.fact_readout not in ("mean", "mean+std"):
        raise ValueError(f'fact_readout must be "mean" or "mean+std", not {config.fact_readout!r}')
    shares = [config.stored_share] * max(config.phases - 1, 0) + [
        config.stored_share if config.final_stored_share is None else config.final_stored_share]
    if config.phases < 1 or not all(0 <= share <= 1 for share in shares):
        raise ValueError("phases must be at least 1 and the stored shares within [0, 1]")
    report = on_progress or (lambda fraction, phase, metrics: None)
    torch.set_num_threads(config.num_threads)
    model = AutoModelForImageTextToText.from_pretrained(str(base_dir), dtype=torch.float32)
    tokenizer = load_tokenizer(base_dir)
    geometry = VisionGeometry.from_config(model.config)
    # Held out from every phase's renders (phase p renders with seed + p).
    held_out = world_videos(config.eval_videos, config.seed + config.phases, config.p_clean, geometry)
    held_out_stored = _as_stored(held_out)
    phases, curves = [], []
    for phase in range(config.phases):
        started = time.perf_counter()
        report(phase / config.phases, "rendering", {"phase": phase})
        train = world_videos(config.videos, config.seed + phase, config.p_clean, geometry, shares[phase])
        render_s = time.perf_counter() - started
        losses = _pretrain_phase(model, tokenizer, geometry, train, config, config.seed + phase, lambda fraction, metrics:
                                 report((phase + fraction) / config.phases, "pretraining", {"phase": phase, **metrics}))
        del train
        curves.append(losses[::10])
        final = np.mean(losses[-50:], axis=0)
        phases.append({"held_out_answer_accuracy": answer_accuracy(model, tokenizer, geometry, held_out),
                       "held_out_stored_answer_accuracy": answer_accuracy(model, tokenizer, geometry, held_out_stored),
                       "final_loss": float(final[0]), "final_occupancy_mse": float(final[1]),
                       "render_s": round(render_s, 1), "train_s": round(time.perf_counter() - started - render_s, 1)})

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    for name in ("preprocessor_config.json", "processor_config.json", "video_preprocessor_config.json"):
        if (Path(base_dir) / name).exists():
            (out_dir / name).write_text((Path(base_dir) / name).read_text())
    base_meta = CriticMeta.load(base_dir)
    metrics = build_metrics(phases)
    CriticMeta(num_frames=base_meta.num_frames, frame_size=base_meta.frame_size, base="tiny-critic",
               origin="pretrained", metrics=metrics, min_pixels=base_meta.min_pixels, max_pixels=base_meta.max_pixels,
               recipe=dict(RATING_RECIPE)).save(out_dir)
    (out_dir / "pretrain.json").write_text(json.dumps({"config": asdict(config), "metrics": metrics,
                                                       "loss_curves": curves}, indent=1))
    return metrics
