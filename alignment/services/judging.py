"""The synthetic world's truth for any stored video of it: the renderer's record when the world rendered
the video, else the pixel judge's reading of its frames (a generator's video, which the oracle cannot
judge). Simulated annotators answer from it, and alignment measures generators with it. And the world's
prompts in the bank, for the benches and tests that run the platform on it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from annotation.models import Video

from .scoring import video_local_path


def world_prompts_create(count: int, seed: int, avoid=frozenset()) -> list:
    """`count` different world prompts (drawn from `seed`, none of `avoid`'s texts) into the bank. A world prompt
    names its whole scene, so it is its own caption: the generate job would otherwise expand it with the template's
    sentences on light and camera, words the tiny critic never saw in pretraining (bench/RESULTS.md 3e)."""
    from annotation.services.prompts import prompt_create

    from ..engine.synthetic import distinct_prompts

    return [prompt_create(text=text, caption=text, source="synthetic") for text in distinct_prompts(count, seed, avoid)]


def video_world_prompt(video: Video) -> str:
    """The prompt a world video was made for (the grammar's text; a caption starts with it)."""
    prompt = video.prompt
    return (prompt.text if prompt else "") or (video.generation_params or {}).get("prompt_text", "")


def video_judged(video: Video) -> dict | None:
    """{dimension: {"rating", "reason"}} by the pixel judge, or None if the prompt is not of the world."""
    from ..engine.synthetic import PromptParseError, judge, parse_prompt
    from ..engine.synthetic.reasons import judged_reasons
    from ..engine.video_io import read_frames

    try:
        spec = parse_prompt(video_world_prompt(video))
    except PromptParseError:
        return None
    with tempfile.TemporaryDirectory(prefix="lift-judge-") as spill:
        frames = read_frames(video_local_path(video, Path(spill)))
    verdict = judge(frames, spec)
    reasons = judged_reasons(spec, verdict)
    return {dim: {"rating": rating, "reason": reasons[dim]} for dim, rating in verdict.ratings.items()}


def video_truth(video: Video) -> dict | None:
    """The world's truth of a video: the renderer's own (synthetic_truth) or else the judge's reading."""
    rendered = ((video.generation_params or {}).get("synthetic_truth") or {}).get("judgements")
    return rendered or video_judged(video)
