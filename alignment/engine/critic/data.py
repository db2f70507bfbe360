"""Critic examples, frame sampling, and readers for our snapshots and the public LiFT-HRA JSON.

Bad data is refused with `CriticDataError(reason)` before any training starts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .questions import (
    DIMENSIONS,
    CriticDataError,
    caption_of_question,
    check_dimension,
    check_rating,
    dimension_of_question,
    parse_answer,
)

DECODE_THREADS = 4  # video files decode in ffmpeg subprocesses: threads overlap them with each other and Python


@dataclass
class CriticExample:
    """One rated (video, dimension) pair. `video` is a path or uint8 frames [T, H, W, 3]."""

    video: str | Path | np.ndarray
    caption: str
    dimension: str
    rating: str
    reason: str = ""

    def validate(self) -> None:
        check_dimension(self.dimension)
        check_rating(self.rating)
        if isinstance(self.video, np.ndarray):
            check_frames_array(self.video)
        elif not Path(self.video).exists():
            raise CriticDataError(f"video file not found: {self.video}")


@dataclass
class ScoreItem:
    """One video to score: a path or frames, and its caption (prompt); `fps` is the frames' rate."""

    video: str | Path | np.ndarray
    caption: str
    fps: float | None = None


def check_frames_array(frames: np.ndarray) -> None:
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise CriticDataError(f"frames must be uint8 [T>0, H, W, 3], got shape {frames.shape}")


def sample_indices(total: int, num_frames: int) -> np.ndarray:
    """`num_frames` equally spaced indices over [0, total-1]; repeats when the video is shorter.
    The same rule as video_io.sample_frame_indices, with an empty video refused as CriticDataError."""
    from ..video_io import sample_frame_indices

    if total < 1:
        raise CriticDataError("cannot sample from a video with no frames")
    return sample_frame_indices(total, num_frames)


def resize_frames(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic resize of uint8 [T, H, W, 3] to (height, width) with PIL; unchanged if already there."""
    from PIL import Image

    height, width = size
    if frames.shape[1:3] == (height, width):
        return np.ascontiguousarray(frames, dtype=np.uint8)
    return np.stack([np.asarray(Image.fromarray(f).resize((width, height), Image.BICUBIC)) for f in frames])


Size = tuple[int, int] | Callable[[int, int], tuple[int, int]]


def _target_size(size: Size, height: int, width: int) -> tuple[int, int]:
    return tuple(size(height, width)) if callable(size) else tuple(size)


def sample_frames(video: str | Path | np.ndarray, num_frames: int, size: Size) -> np.ndarray:
    """N frames at equal intervals, resized to `size`: (height, width) already snapped to the model's
    patch grid, or a function of the video's own (height, width), e.g. `CriticMeta.frame_size_for`."""
    return sample_frames_timed(video, num_frames, size)[0]


def sample_frames_timed(video: str | Path | np.ndarray, num_frames: int, size: Size,
                        source_fps: float | None = None, *, timed: bool = True) -> tuple[np.ndarray, float | None]:
    """`sample_frames` and the rate of the sampled frames (N / duration), which Qwen2.5-VL takes as
    second_per_grid_ts; None for an array whose frame rate `source_fps` is not given, and for a file when the
    model takes no rate (`timed` False) and the size is fixed: such a file is decoded without probing it."""
    if isinstance(video, np.ndarray):
        check_frames_array(video)
        frames = video if video.dtype == np.uint8 else np.clip(video, 0, 255).astype(np.uint8)
        target = _target_size(size, frames.shape[1], frames.shape[2])
        rate = num_frames / len(frames) * source_fps if source_fps else None
        return resize_frames(frames[sample_indices(len(frames), num_frames)], target), rate
    from ..video_io import VideoProbeError, probe_video, read_frames

    path = Path(video)
    if not path.exists():
        raise CriticDataError(f"video file not found: {path}")
    try:
        if not timed and not callable(size):
            return read_frames(path, num_frames=num_frames, size=tuple(size)), None
        info = probe_video(path)
        # read_frames decodes everything, then samples; scaling is done by ffmpeg.
        frames = read_frames(path, num_frames=num_frames, size=_target_size(size, info.height, info.width), info=info)
    except VideoProbeError as error:
        raise CriticDataError(f"cannot read {path.name}: {error}") from error
    return frames, (num_frames / info.duration if info.duration > 0 else None)


def class_counts(examples: list[CriticExample]) -> dict[str, dict[str, int]]:
    """{dimension: {rating: count}} over the examples (all ratings present, zeros included)."""
    from .questions import RATINGS

    counts = {d: {r: 0 for r in RATINGS} for d in DIMENSIONS}
    for example in examples:
        counts[example.dimension][example.rating] += 1
    return counts


# ---------------------------------------------------------------------------------------------
# Snapshot files


def _resolve(snapshot_dir: Path, video_path: str) -> Path:
    path = Path(video_path)
    return path if path.is_absolute() else snapshot_dir / path


def load_hra_examples(snapshot_dir: str | Path, split: str, *, check_files: bool = True) -> list[CriticExample]:
    """Examples of one split of a snapshot: `data/{split}.jsonl` (one row per video × annotator), or
    a public LiFT-HRA conversation file `lift_hra.json` / `{split}.json` in the snapshot dir.

    Refuses an empty split, unknown dimensions or ratings, and missing videos with CriticDataError.
    """
    snapshot_dir = Path(snapshot_dir)
    jsonl = snapshot_dir / "data" / f"{split}.jsonl"
    if jsonl.exists():
        examples = _read_snapshot_jsonl(jsonl, snapshot_dir)
    else:
        candidates = [snapshot_dir / f"{split}.json", snapshot_dir / "lift_hra.json"]
        found = next((p for p in candidates if p.exists()), None)
        if found is None:
            raise CriticDataError(f"snapshot has no split {split!r}: expected {jsonl} or lift_hra.json")
        examples = load_lift_hra_json(found)
    if not examples:
        raise CriticDataError(f"split {split!r} of the snapshot is empty")
    if check_files:
        for example in examples:
            example.validate()
    return examples


def _read_snapshot_jsonl(path: Path, snapshot_dir: Path) -> list[CriticExample]:
    examples = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise CriticDataError(f"{path.name} line {number}: not JSON ({error.msg})") from error
        examples.extend(_row_examples(row, snapshot_dir, f"{path.name} line {number}"))
    return examples


def _row_examples(row: dict, snapshot_dir: Path, where: str) -> list[CriticExample]:
    if "video_path" not in row:
        raise CriticDataError(f"{where}: no video_path")
    caption = row.get("caption") or row.get("prompt")
    if not caption:
        raise CriticDataError(f"{where}: no caption or prompt")
    dims = [key[: -len("_rating")] for key in row if key.endswith("_rating")]
    if not dims:
        raise CriticDataError(f"{where}: no <dimension>_rating column")
    examples = []
    for dim in dims:
        if dim not in DIMENSIONS:
            raise CriticDataError(f"{where}: unknown dimension {dim!r}; known: {', '.join(DIMENSIONS)}")
        rating = row[f"{dim}_rating"]
        if rating in (None, ""):
            continue  # the annotator skipped this dimension
        check_rating(rating)
        reason = row.get(f"{dim}_rationale") or ""
        examples.append(CriticExample(str(_resolve(snapshot_dir, row["video_path"])), caption, dim, rating, reason))
    return examples


def load_lift_hra_json(path: str | Path) -> list[CriticExample]:
    """The public LiFT-HRA format: [{"video": ..., "conversations": [human, gpt]}], one question each."""
    path = Path(path)
    try:
        entries = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise CriticDataError(f"{path.name}: not JSON ({error.msg})") from error
    examples = []
    for number, entry in enumerate(entries):
        turns = entry.get("conversations") or []
        human = next((t["value"] for t in turns if t.get("from") == "human"), None)
        answer = next((t["value"] for t in turns if t.get("from") == "gpt"), None)
        if "video" not in entry or human is None or answer is None:
            raise CriticDataError(f"{path.name} entry {number}: needs video, a human and a gpt turn")
        dimension = dimension_of_question(human)
        rating, reason = parse_answer(answer)
        examples.append(
            CriticExample(str(_resolve(path.parent, entry["video"])), caption_of_question(human, dimension), dimension, rating, reason)
        )
    return examples
