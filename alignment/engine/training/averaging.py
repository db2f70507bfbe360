"""An exponential moving average of the weights that train, for evaluating and keeping a smoother model than
the last step's: a small fine-tune's weights move a few points of accuracy from one step to the next.

Only the trainable parameters are shadowed (a LoRA's, or the language model's under a frozen tower), so it costs
one copy of what trains, not of the model. Its state goes into checkpoints, so a resumed run averages as an
uninterrupted one.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .checkpoints import load_trainable_state, trainable_state


class WeightAverage:
    def __init__(self, model, decay: float):
        if not 0 < decay < 1:
            raise ValueError(f"decay must lie in (0, 1), got {decay}")
        self.decay = decay
        self.shadow = {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}

    def decay_at(self, step: int) -> float:
        """Warmed up, so the first steps' weights (far from any later ones) fade fast: (1 + t) / (10 + t) until
        it reaches `decay`."""
        return min(self.decay, (1 + step) / (10 + step))

    def update(self, model, step: int) -> None:
        import torch

        keep = self.decay_at(step)
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                if parameter.requires_grad:
                    self.shadow[name].lerp_(parameter.detach().to(self.shadow[name].dtype), 1 - keep)

    @contextmanager
    def applied(self, model) -> Iterator[None]:
        """The model carries the averaged weights inside the block, its own again after it."""
        own = trainable_state(model)
        load_trainable_state(model, self.shadow)
        try:
            yield
        finally:
            load_trainable_state(model, own)

    def state(self) -> dict:
        """The averaged weights on the CPU (what a kept or saved model takes)."""
        return {name: value.detach().cpu().clone() for name, value in self.shadow.items()}

    def save(self, path: Path) -> None:
        import torch

        torch.save(self.state(), path)

    def load(self, path: Path) -> None:
        import torch

        for name, value in torch.load(path).items():
            self.shadow[name].copy_(value)
