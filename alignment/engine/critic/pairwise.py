"""A Bradley–Terry critic: a Qwen2-VL backbone read at the last token, one scalar head per dimension.

VideoReward's shape: the video and its caption go through the vision-language model; the hidden state of
the last (non-padding) token feeds a Linear layer with one output per dimension, the video's score on it.
Trained on pairs with the tie-aware Bradley–Terry loss of `preference.py`: both videos of every pair go
through one forward pass, so the two scores of a pair come from the same weights and batch statistics.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch

from .preference import RAO_KUPPER_THETA, outcome_index, preference_loss
from .spec import Turn, VisionGeometry, collate_turns, load_tokenizer

HEAD_FILE = "preference_head.safetensors"
META_FILE = "preference_critic.json"


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

    def __init__(self, vlm, tokenizer, dimensions: Sequence[str]):
        super().__init__()
        self._vlm = [vlm]  # kept unregistered (the language-model head is not trained) for save_pretrained
        self.backbone = vlm.model
        self.tokenizer = tokenizer
        self.geometry = VisionGeometry.from_config(vlm.config)
        self.dimensions = tuple(dimensions)
        hidden = vlm.config.text_config.hidden_size
        self.head = torch.nn.Linear(hidden, len(self.dimensions))
        torch.nn.init.zeros_(self.head.bias)

    @classmethod
    def from_pretrained(cls, path: str | Path, dimensions: Sequence[str] | None = None, dtype=torch.float32) -> "PairwiseCritic":
        """A VLM directory (a fresh zero-bias head over `dimensions`) or one `save` wrote (its head and dimensions)."""
        from safetensors.torch import load_file
        from transformers import AutoModelForImageTextToText

        path = Path(path)
        saved = path / META_FILE
        if saved.is_file():
            dimensions = json.loads(saved.read_text())["dimensions"]
        if not dimensions:
            raise ValueError(f"{path} is not a saved preference critic: name the dimensions of a fresh head")
        critic = cls(AutoModelForImageTextToText.from_pretrained(str(path), dtype=dtype), load_tokenizer(path), dimensions)
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
        (directory / META_FILE).write_text(json.dumps({"dimensions": list(self.dimensions)}, indent=1))
        return directory

    def forward(self, frames: Sequence[np.ndarray], captions: Sequence[str]) -> torch.Tensor:
        batch = collate_turns(self.tokenizer, [Turn(f, c) for f, c in zip(frames, captions)], self.geometry)
        device = self.head.weight.device
        batch = {k: v.to(device) for k, v in batch.items()}
        hidden = self.backbone(**batch).last_hidden_state
        last = batch["attention_mask"].sum(dim=1) - 1  # right padding: the last real token of each row
        return self.head(hidden[torch.arange(hidden.shape[0], device=device), last].float())

    def score_pairs(self, pairs: Sequence[PairExample]) -> tuple[torch.Tensor, torch.Tensor]:
        """([P, D] scores of the A videos, [P, D] of the B videos) from one forward pass."""
        scores = self([p.frames_a for p in pairs] + [p.frames_b for p in pairs], [p.caption for p in pairs] * 2)
        return scores[: len(pairs)], scores[len(pairs):]


def pair_targets(pairs: Sequence[PairExample], dimensions: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """([P, D] outcome indices, [P, D] mask of judged dimensions)."""
    labels = [[p.labels.get(d, "tie") for d in dimensions] for p in pairs]
    mask = torch.tensor([[d in p.labels for d in dimensions] for p in pairs])
    return outcome_index([x for row in labels for x in row]).reshape(len(pairs), len(dimensions)), mask


def train_pairwise(critic: PairwiseCritic, pairs: Sequence[PairExample], *, steps: int, batch_size: int = 8,
                   learning_rate: float = 1e-3, tie: float = RAO_KUPPER_THETA, tie_model: str = "rao_kupper",
                   seed: int = 0) -> list[float]:
    """AdamW on the tie-aware Bradley–Terry loss over random batches of pairs; the losses per step."""
    if not pairs:
        raise ValueError("no pairs to train on")
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW([p for p in critic.parameters() if p.requires_grad], lr=learning_rate)
    critic.train()
    losses = []
    for _ in range(steps):
        chosen = [pairs[int(i)] for i in torch.randint(len(pairs), (batch_size,), generator=generator)]
        labels, mask = pair_targets(chosen, critic.dimensions)
        score_a, score_b = critic.score_pairs(chosen)
        loss = preference_loss(score_a, score_b, labels.to(score_a.device), tie, tie_model, mask.to(score_a.device))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
    return losses


@torch.no_grad()
def score_pairs(critic: PairwiseCritic, pairs: Sequence[PairExample], batch_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Evaluation scores ([P, D] for A, [P, D] for B) in batches, in eval mode."""
    was_training = critic.training
    critic.eval()
    parts = [critic.score_pairs(pairs[i : i + batch_size]) for i in range(0, len(pairs), batch_size)]
    critic.train(was_training)
    return torch.cat([a for a, _ in parts]).cpu().numpy(), torch.cat([b for _, b in parts]).cpu().numpy()
