"""The synthetic world behind the generator interface: prompt + seed → frames, with known truth.

Selected by the base "synthetic://world" (defects drawn from the prompt's scene and the seed) or
"synthetic://clean" (never any defect). The scene and seed fix both the defects and the render, so
`truth(prompt, seed)` recovers what any generated video shows without storing anything extra.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Callable
from urllib.parse import parse_qs, urlparse

import numpy as np

from .defects import Defects, sample_defects
from .grammar import SceneSpec, parse_prompt
from .oracle import Judgement, oracle_judge
from .render import render

SYNTHETIC_SCHEME = "synthetic"
DEFAULT_P_CLEAN = 0.4


def is_synthetic_base(base: str) -> bool:
    return base.startswith(f"{SYNTHETIC_SCHEME}://")


@dataclass(frozen=True)
class SyntheticTruth:
    spec: SceneSpec
    defects: Defects
    judgements: dict[str, Judgement]

    def to_dict(self) -> dict:
        return {
            "spec": self.spec.to_dict(),
            "defects": self.defects.to_dict(),
            "judgements": {d: {"rating": j.rating, "reason": j.reason} for d, j in self.judgements.items()},
        }


@dataclass(frozen=True)
class SyntheticGenerator:
    p_clean: float = DEFAULT_P_CLEAN

    @classmethod
    def from_base(cls, base: str) -> "SyntheticGenerator":
        """"synthetic://world[?p_clean=0.4]" or "synthetic://clean"."""
        url = urlparse(base)
        if url.scheme != SYNTHETIC_SCHEME or url.netloc not in ("world", "clean"):
            raise ValueError(f"unknown synthetic base {base!r}; use synthetic://world or synthetic://clean")
        if url.netloc == "clean":
            return cls(p_clean=1.0)
        p_clean = float(parse_qs(url.query).get("p_clean", [DEFAULT_P_CLEAN])[0])
        if not 0.0 <= p_clean <= 1.0:
            raise ValueError(f"p_clean must lie in [0, 1], got {p_clean}")
        return cls(p_clean=p_clean)

    def truth(self, prompt: str, seed: int) -> SyntheticTruth:
        spec = parse_prompt(prompt)
        # The scene takes part in the draw: from the seed alone, every prompt of a seed had the same defects,
        # so a campaign of prompts × seeds held as many defect draws as seeds, each repeated on every prompt.
        scene = zlib.crc32(spec.to_text().encode())
        defects = sample_defects(np.random.default_rng([seed, scene]), p_clean=self.p_clean)
        return SyntheticTruth(spec=spec, defects=defects, judgements=oracle_judge(spec, defects))

    def generate(
        self,
        prompt: str,
        seed: int,
        spec,
        on_progress: Callable[[float, str], None] | None = None,
    ) -> np.ndarray:
        """uint8 [spec.frames, spec.height, spec.width, 3]; `spec` is a GeneratorSpec."""
        report = on_progress or (lambda fraction, phase: None)
        report(0.0, "rendering")
        truth = self.truth(prompt, seed)
        frames = render(truth.spec, truth.defects, frames=spec.frames, size=(spec.height, spec.width), seed=seed)
        report(1.0, "done")
        return frames
