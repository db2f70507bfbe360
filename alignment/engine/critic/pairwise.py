"""A Bradley–Terry critic: a Qwen2-VL backbone read at the last token, one scalar head per dimension.

VideoReward's shape: the video and its caption go through the vision-language model; the hidden state of
the last (non-padding) token feeds a Linear layer with one output per dimension, the video's score on it.
Trained on pairs with the tie-aware Bradley–Terry loss of `preference.py`: both videos of every pair go
through one forward pass, so the two scores of a pair come from the same weights and batch statistics.

The "questions" readout instead asks each dimension's rating question after the caption (one turn per dimension)
and reads that dimension's score where the rating critic reads its rating: a base taught to answer those questions
starts with the sight each one needs, at the cost of a forward pass per dimension.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch

from .preference import RAO_KUPPER_THETA, outcome_index, preference_loss
from .questions import user_text
from .spec import Turn, VisionGeometry, collate_turns, load_tokenizer

HEAD_FILE = "preference_head.safetensors"
META_FILE = "preference_critic.json"
READOUTS = ("caption", "questions")  # the last token after the caption alone; or after each dimension's question


@dataclass(frozen=True)
class PairExample:
    """Two videos of one caption (frames already at the critic's geometry) and the judgement per dimension:
    "A", "B" or "tie"; a dimension left out was not judged."""

    caption: str
    frames_a: np.ndarray  # uint8 [T, H, W, 3]
    frames_b: np.ndarray
    labels: Mapping[str, str] = field(default_factory=dict)


class PairwiseCritic(torch.nn.Module):
    """score(videos, captions) → [N, dimensions]; the backbone is the VLM's base model (no language-model head)."""

    def __init__(self, vlm, tokenizer, dimensions: Sequence[str], readout: str = "caption"):
        super().__init__()
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {', '.join(READOUTS)}, got {readout!r}")
        self.readout = readout
        self._vlm = [vlm]  # kept unregistered (the language-model head is not trained) for save_pretrained
        self.backbone = vlm.model
        self.tokenizer = tokenizer
        self.geometry = VisionGeometry.from_config(vlm.config)
        self.dimensions = tuple(dimensions)
        hidden = vlm.config.text_config.hidden_size
        self.head = torch.nn.Linear(hidden, len(self.dimensions))
        torch.nn.init.zeros_(self.head.bias)

    @classmethod
    def from_pretrained(cls, path: str | Path, dimensions: Sequence[str] | None = None, dtype=torch.float32,
                        readout: str = "caption") -> "PairwiseCritic":
        """A VLM directory (a fresh zero-bias head over `dimensions`, read as `readout`) or one `save` wrote (its
        head, dimensions and readout)."""
        from safetensors.torch import load_file
        from transformers import AutoModelForImageTextToText

        path = Path(path)
        saved = path / META_FILE
        if saved.is_file():
            meta = json.loads(saved.read_text())
            dimensions, readout = meta["dimensions"], meta.get("readout", "caption")  # critics saved before it: caption
        if not dimensions:
            raise ValueError(f"{path} is not a saved preference critic: name the dimensions of a fresh head")
        critic = cls(AutoModelForImageTextToText.from_pretrained(str(path), dtype=dtype), load_tokenizer(path), dimensions,
                     readout)
        if saved.is_file():
            critic.head.load_state_dict(load_file(str(path / HEAD_FILE)))
        return critic

    def save(self, directory: str | Path) -> Path:
        """The VLM (save_pretrained), tokenizer, head weights and dimensions: `from_pretrained(directory)` loads it."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self._vlm[0].save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)
        save_file({k: v.contiguous() for k, v in self.head.state_dict().items()}, str(directory / HEAD_FILE))
        (directory / META_FILE).write_text(json.dumps({"dimensions": list(self.dimensions), "readout": self.readout},
                                                      indent=1))
        return directory

    @property
    def config(self):
        """The vision-language model's config (its geometry), as a rating critic's model has one."""
        return self._vlm[0].config

    def forward(self, frames: Sequence[np.ndarray], captions: Sequence[str]) -> torch.Tensor:
        if self.readout == "caption":
            return self.head(self._last_hidden([Turn(f, c) for f, c in zip(frames, captions)]))
        turns = [Turn(f, user_text(c, dim)) for f, c in zip(frames, captions) for dim in self.dimensions]
        scores = self.head(self._last_hidden(turns)).reshape(len(frames), len(self.dimensions), len(self.dimensions))
        return scores.diagonal(dim1=1, dim2=2)  # dimension d's score from the turn that asked its question

    def _last_hidden(self, turns: list[Turn]) -> torch.Tensor:
        """[turns, hidden]: the hidden state of each turn's last real token, where an answer would start."""
        batch = collate_turns(self.tokenizer, turns, self.geometry)
        device = self.head.weight.device
        batch = {k: v.to(device) for k, v in batch.items()}
        hidden = self.backbone(**batch).last_hidden_state
        last = batch["attention_mask"].sum(dim=1) - 1  # right padding: the last real token of each row
        return hidden[torch.arange(hidden.shape[0], device=device), last].float()

    def score_pairs(self, pairs: Sequence[PairExample]) -> tuple[torch.Tensor, torch.Tensor]:
        """([P, D] scores of the A videos, [P, D] of the B videos) from one forward pass."""
        scores = self([p.frames_a for p in pairs] + [p.frames_b for p in pairs], [p.caption for p in pairs] * 2)
        return scores[: len(pairs)], scores[len(pairs):]


def pair_targets(pairs: Sequence[PairExample], dimensions: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """([P, D] outcome indices, [P, D] mask of judged dimensions)."""
    labels = [[p.labels.get(d, "tie") for d in dimensions] for p in pairs]
    mask = torch.tensor([[d in p.labels for d in dimensions] for p in pairs])
    return outcome_index([x for row in labels for x in row]).reshape(len(pairs), len(dimensions)), mask


@dataclass
class PairwiseTraining:
    losses: list[float]  # per step
    val_curve: list[dict]  # {"step", "accuracy"}: mean accuracy without ties on the validation pairs
    best_step: int  # the step whose weights the critic carries at the end


def judged_by_dimension(score_a, score_b, pairs: Sequence[PairExample],
                        dimensions: Sequence[str]) -> dict[str, tuple[np.ndarray, np.ndarray, list[str]]]:
    """Per dimension, over the pairs judged on it: (their A scores, their B scores, their labels), from [P, D]
    scores."""
    out = {}
    for d, dim in enumerate(dimensions):
        rows = [i for i, pair in enumerate(pairs) if dim in pair.labels]
        out[dim] = (np.asarray(score_a)[rows, d], np.asarray(score_b)[rows, d], [pairs[i].labels[dim] for i in rows])
    return out


def validation_accuracy(critic: PairwiseCritic, pairs: Sequence[PairExample]) -> float:
    """Mean over dimensions of the accuracy without ties on the pairs judged with a side (NaN when none is)."""
    from .preference import accuracy_without_ties

    score_a, score_b = score_pairs(critic, pairs)
    figures = [accuracy_without_ties(a, b, labels)
               for a, b, labels in judged_by_dimension(score_a, score_b, pairs, critic.dimensions).values()]
    decided = [f for f in figures if f == f]
    return float(np.mean(decided)) if decided else float("nan")


def train_pairwise(critic: PairwiseCritic, pairs: Sequence[PairExample], *, steps: int, batch_size: int = 8,
                   learning_rate: float = 1e-3, tie: float = RAO_KUPPER_THETA, tie_model: str = "rao_kupper",
                   seed: int = 0, on_step=None, validation: Sequence[PairExample] = (),
                   eval_every: int = 0) -> PairwiseTraining:
    """AdamW on the tie-aware Bradley–Terry loss over random batches of pairs (`on_step(step, loss)` after each).
    With validation pairs, every `eval_every` steps and at the end the critic is measured on them and ends with the
    weights of the best accuracy (the earliest of equals), as the rating critic's trainer keeps its best."""
    from ..training.checkpoints import load_trainable_state, trainable_state

    if not pairs:
        raise ValueError("no pairs to train on")
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW([p for p in critic.parameters() if p.requires_grad], lr=learning_rate)
    critic.train()
    losses, curve, best, best_state = [], [], None, None
    measurable = [pair for pair in validation if any(label != "tie" for label in pair.labels.values())]
    for step in range(1, steps + 1):
        chosen = [pairs[int(i)] for i in torch.randint(len(pairs), (batch_size,), generator=generator)]
        labels, mask = pair_targets(chosen, critic.dimensions)
        score_a, score_b = critic.score_pairs(chosen)
        loss = preference_loss(score_a, score_b, labels.to(score_a.device), tie, tie_model, mask.to(score_a.device))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
        if on_step:
            on_step(step, losses[-1])
        if measurable and ((eval_every and step % eval_every == 0) or step == steps):
            curve.append({"step": step, "accuracy": validation_accuracy(critic, measurable)})
            if best is None or curve[-1]["accuracy"] > best["accuracy"]:
                best, best_state = curve[-1], trainable_state(critic)
    if best_state is not None and best["step"] != steps:
        load_trainable_state(critic, best_state)
    return PairwiseTraining(losses, curve, best["step"] if best else steps)


@torch.no_grad()
def score_pairs(critic: PairwiseCritic, pairs: Sequence[PairExample], batch_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Evaluation scores ([P, D] for A, [P, D] for B) in batches, in eval mode."""
    was_training = critic.training
    critic.eval()
    parts = [critic.score_pairs(pairs[i : i + batch_size]) for i in range(0, len(pairs), batch_size)]
    critic.train(was_training)
    return torch.cat([a for a, _ in parts]).cpu().numpy(), torch.cat([b for _, b in parts]).cpu().numpy()


def preference_critic(base: str | Path, dimensions: Sequence[str], *, finetune: str = "lora", lora_rank: int = 16,
                      seed: int = 0, readout: str = "caption") -> PairwiseCritic:
    """A fresh preference critic over a vision-language base: a zero-bias head per dimension, and every weight
    training ("full"), every weight but the vision tower's ("language"), or a LoRA on the language model's linear
    layers with the vision tower frozen ("lora", VideoReward's default); the head trains in every case."""
    from peft import LoraConfig, inject_adapter_in_model

    from .config import FINETUNE_MODES
    from .spec import freeze_vision
    from .train import LLM_LORA_TARGETS

    if finetune not in FINETUNE_MODES:
        raise ValueError(f"finetune must be one of {', '.join(FINETUNE_MODES)}, got {finetune!r}")
    torch.manual_seed(seed)
    critic = PairwiseCritic.from_pretrained(base, dimensions, readout=readout)
    if finetune == "language":
        freeze_vision(critic._vlm[0])
    if finetune == "lora":
        critic.backbone.requires_grad_(False)
        inject_adapter_in_model(LoraConfig(r=lora_rank, lora_alpha=2 * lora_rank, target_modules=LLM_LORA_TARGETS),
                                critic._vlm[0])
    return critic


def save_preference_critic(critic: PairwiseCritic, directory: str | Path, base: str | Path) -> Path:
    """The critic with any LoRA merged into the base weights, loadable by `PairwiseCritic.from_pretrained`, with
    the base's frame sampling (its critic meta) so scoring samples frames as training did."""
    from peft.tuners.lora import LoraLayer

    from .spec import CriticMeta

    with torch.no_grad():
        for module in critic._vlm[0].modules():
            if isinstance(module, LoraLayer):
                module.merge()
    _unwrap_lora(critic._vlm[0])
    directory = critic.save(directory)
    meta = CriticMeta.load(base)
    meta.origin, meta.adapter, meta.recipe = "trained", False, {}
    meta.save(directory)
    return directory


def _unwrap_lora(model) -> None:
    """Merged LoRA layers replaced by their base layers, so the saved weights carry no adapter keys."""
    from peft.tuners.lora import LoraLayer

    for module in list(model.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, LoraLayer):
                setattr(module, child_name, child.get_base_layer())


@torch.no_grad()
def score_videos(critic: PairwiseCritic, frames: Sequence[np.ndarray], captions: Sequence[str],
                 batch_size: int = 16) -> np.ndarray:
    """[N, dimensions] scores of videos (frames already at the critic's geometry), in eval mode."""
    was_training = critic.training
    critic.eval()
    parts = [critic(frames[i : i + batch_size], captions[i : i + batch_size]) for i in range(0, len(frames), batch_size)]
    critic.train(was_training)
    return torch.cat(parts).float().cpu().numpy() if parts else np.zeros((0, len(critic.dimensions)))


def load_preference_critic(directory: str | Path, device: str = "cpu") -> tuple[PairwiseCritic, object, object]:
    """(critic, tokenizer, meta) of a saved preference critic, in eval mode on `device`: the shape the scoring
    service keeps a loaded critic in."""
    from .spec import CriticMeta, critic_dtype

    critic = PairwiseCritic.from_pretrained(directory, dtype=critic_dtype("auto", device)).to(device).eval()
    return critic, critic.tokenizer, CriticMeta.load(directory)


def preference_reward(scores: np.ndarray) -> np.ndarray:
    """[N] rewards in (0, 1) from [N, dimensions] scores: the mean over dimensions of σ(score), the probability
    of beating a video scored 0 (Bradley–Terry) — one scale with the rating critic's expected reward."""
    return (1.0 / (1.0 + np.exp(-np.asarray(scores, dtype=np.float64)))).mean(axis=1)


def preference_reward_fn(loaded, device: str = "cpu"):
    """reward_fn(videos, prompts, metadata) for the alignment trainer: videos [B, T, 3, H, W] in [0, 1] →
    `preference_reward` of each, frames sampled as the critic was trained on them."""
    from .data import sample_frames_timed

    critic, _, meta = loaded
    size = meta.frame_sizer(critic.geometry)

    def reward(videos, prompts, metadata=None):
        clips = (videos.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 1, 3, 4, 2).cpu().numpy()
        frames = [sample_frames_timed(clip, meta.num_frames, size)[0] for clip in clips]
        return torch.tensor(preference_reward(score_videos(critic.to(device), frames, list(prompts))))

    return reward
