"""A procedural video world with known truth: prompts, renders with chosen defects, exact ratings."""

from .defects import DEFECT_KINDS, DIMENSIONS, Defect, Defects, sample_defects
from .generator import SyntheticGenerator, SyntheticTruth, is_synthetic_base
from .grammar import PromptParseError, SceneSpec, distinct_prompts, parse_prompt, sample_prompt
from .oracle import Judgement, oracle_judge
from .judge import Verdict, judge
from .render import CLIP_FRAMES, CLIP_SIZE, render
from .reward import colour_reward, colour_reward_fn, colour_reward_torch

__all__ = [
    "CLIP_FRAMES",
    "CLIP_SIZE",
    "DEFECT_KINDS",
    "DIMENSIONS",
    "Defect",
    "Defects",
    "Judgement",
    "PromptParseError",
    "SceneSpec",
    "SyntheticGenerator",
    "SyntheticTruth",
    "Verdict",
    "colour_reward",
    "colour_reward_fn",
    "colour_reward_torch",
    "distinct_prompts",
    "is_synthetic_base",
    "judge",
    "oracle_judge",
    "parse_prompt",
    "render",
    "sample_defects",
    "sample_prompt",
]
