"""Video files in and out, through the ffmpeg command line (ffmpeg-python builds the commands).

Every video the platform stores is H.264 / yuv420p / faststart MP4: browsers play it, and the moov
atom at the front lets them start before the whole file has arrived. Frames in memory are always
uint8 arrays shaped [T, H, W, 3] (RGB), the same layout the generators return.

Writes go to a temporary name beside the target and are renamed into place, so a crash never
leaves a half-written video or poster under the final name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import ffmpeg
import numpy as np

# Formats ffprobe reports for still images; a single picture is not a video to rate.
_STILL_IMAGE_FORMATS = ("image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "gif")

# x264 is deterministic for a fixed input and settings; bitexact keeps the muxer from writing
# version strings, so the same frames give the same bytes (and the same sha256) on every run.
_H264_OUTPUT_ARGS = {
    "vcodec": "libx264",
    "pix_fmt": "yuv420p",
    "movflags": "+faststart",
    "preset": "medium",
    "crf": 18,
    "fflags": "+bitexact",
    "map_metadata": -1,
}


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frames: int
    duration: float
    codec: str
    pix_fmt: str
    size_bytes: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class VideoProbeError(Exception):
    """A file that cannot be used as a video; `code` is stable for programs, `reason` for people."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


# ---------------------------------------------------------------------------------------------
# Writing


def even_padded(frames: np.ndarray) -> np.ndarray:
    """Pad odd heights/widths by repeating the last row/column: yuv420p needs even sizes."""
    _, height, width, _ = frames.shape
    pad_h, pad_w = height % 2, width % 2
    if not (pad_h or pad_w):
        return frames
    return np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")


def _check_frames(frames: np.ndarray) -> None:
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 [T, H, W, 3], got {frames.dtype} {frames.shape}")
    if frames.shape[0] < 1:
        raise ValueError("frames must hold at least one frame")


def _temporary_sibling(path: Path) -> Path:
    # Keeps the suffix so ffmpeg and Pillow still pick the container/format from the name.
    return path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")


def _run_ffmpeg(stream, *, input_bytes: bytes | None = None) -> bytes:
    try:
        out, _ = stream.run(input=input_bytes, capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as error:
        raise RuntimeError(f"ffmpeg failed: {_last_line(error.stderr)}") from error
    return out


def _last_line(stderr: bytes | None) -> str:
    lines = (stderr or b"").decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else "no error output"


def encode_video(frames: np.ndarray, path: str | os.PathLike, fps: float) -> VideoInfo:
    """Encode RGB frames to H.264/yuv420p/faststart MP4.

    Odd heights or widths are padded by one edge pixel (see `even_padded`), so the stored video
    can be one pixel larger than the frames given.
    """
    _check_frames(frames)
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    frames = np.ascontiguousarray(even_padded(frames))
    _, height, width, _ = frames.shape
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = _temporary_sibling(path)
    stream = (
        ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{width}x{height}", framerate=fps)
        .output(str(partial), r=fps, **_H264_OUTPUT_ARGS)
        .overwrite_output()
    )
    try:
        _run_ffmpeg(stream, input_bytes=frames.tobytes())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    # What was written, without probing it again: an ffprobe process is half of a short clip's encoding time,
    # and it would only read back these figures (durations to ffprobe's six decimals).
    count = frames.shape[0]
    return VideoInfo(width=width, height=height, fps=float(fps), frames=count, duration=round(count / fps, 6),
                     codec="h264", pix_fmt=_H264_OUTPUT_ARGS["pix_fmt"], size_bytes=path.stat().st_size)


def as_stored(clips: list[np.ndarray], fps: float, per_run: int = 500) -> list[np.ndarray]:
    """The clips as the platform's storage gives them back (H.264 / yuv420p, decoded again), for training
    on what a critic will see. Same-sized clips go through one ffmpeg run each `per_run` of them: one run per
    clip costs 40× as much here, and x264's choices differ only a little at the clips' joins."""
    out: list[np.ndarray] = []
    with tempfile.TemporaryDirectory(prefix="lift-stored-") as tmp:
        for start in range(0, len(clips), per_run):
            chunk = clips[start : start + per_run]
            if len({clip.shape for clip in chunk}) != 1:
                raise ValueError("as_stored takes clips of one shape")
            path = Path(tmp) / f"{start}.mp4"
            info = encode_video(np.concatenate(chunk), path, fps)
            frames = read_frames(path, info=info)[:, : chunk[0].shape[1], : chunk[0].shape[2]]  # without the even padding
            out.extend(np.split(frames, len(chunk)))
    return out


def transcode_to_platform(src: str | os.PathLike, dst: str | os.PathLike, fps: float | None = None) -> VideoInfo:
    """Re-encode any readable video to the platform format; audio is dropped (nobody rates it)."""
    probe_video(src)  # refuse non-videos with a clear reason before running the encoder
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    partial = _temporary_sibling(dst)
    rate = {"r": fps} if fps else {}
    stream = (
        ffmpeg.input(str(src))
        .video.filter("scale", "trunc(iw/2)*2", "trunc(ih/2)*2")
        .output(str(partial), **rate, **_H264_OUTPUT_ARGS)
        .overwrite_output()
    )
    try:
        _run_ffmpeg(stream)
        os.replace(partial, dst)
    finally:
        partial.unlink(missing_ok=True)
    return probe_video(dst)


def middle_frame(frames: np.ndarray) -> np.ndarray:
    return frames[len(frames) // 2]


def write_poster(source: np.ndarray | str | os.PathLike, out_path: str | os.PathLike, quality: int = 85) -> Path:
    """Write a JPEG of the middle frame of `source` (frames in memory or a video file)."""
    from PIL import Image

    frames = source if isinstance(source, np.ndarray) else read_frames(source)
    _check_frames(frames)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = _temporary_sibling(out_path)
    try:
        Image.fromarray(middle_frame(frames)).save(partial, format="JPEG", quality=quality)
        os.replace(partial, out_path)
    finally:
        partial.unlink(missing_ok=True)
    return out_path


# ---------------------------------------------------------------------------------------------
# Reading


def _parse_rate(rate: str | None) -> float:
    if not rate or rate in ("0/0", "0"):
        return 0.0
    return float(Fraction(rate))


def _ffprobe(path: Path, count_frames: bool = False) -> dict:
    extra = {"count_frames": None, "select_streams": "v:0"} if count_frames else {}
    try:
        return ffmpeg.probe(str(path), **extra)
    except ffmpeg.Error as error:
        # Reasons reach users: name the file, never the server path it sits at.
        detail = _last_line(error.stderr).replace(str(path), path.name)
        raise VideoProbeError("not_a_video", f"not a video: ffprobe cannot read it ({detail})")


def _frame_count(path: Path, stream: dict) -> int:
    # MP4 records nb_frames in the header; other containers (webm, mkv) need a counting pass.
    if str(stream.get("nb_frames", "")).isdigit():
        return int(stream["nb_frames"])
    counted = _ffprobe(path, count_frames=True)["streams"]
    return int(counted[0].get("nb_read_frames", 0) or 0) if counted else 0


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Describe the first video stream of `path`, or raise VideoProbeError saying why it is unusable."""
    path = Path(path)
    if not path.is_file() or not os.access(path, os.R_OK):
        raise VideoProbeError("unreadable", f"unreadable: {path.name} does not exist or cannot be read")
    size_bytes = path.stat().st_size
    if size_bytes == 0:
        raise VideoProbeError("empty", "not a video: the file is empty")
    probe = _ffprobe(path)
    video_streams = [s for s in probe.get("streams", []) if s.get("codec_type") == "video"]
    if not video_streams:
        raise VideoProbeError("no_video_stream", "no video stream: the file holds no pictures")
    format_name = probe.get("format", {}).get("format_name", "")
    if format_name in _STILL_IMAGE_FORMATS or format_name.endswith("_pipe"):
        raise VideoProbeError("not_a_video", f"not a video: a still image ({format_name})")
    stream = video_streams[0]
    frames = _frame_count(path, stream)
    if frames <= 0:
        raise VideoProbeError("no_frames", "zero frames: the video stream holds no decodable frames")
    fps = _parse_rate(stream.get("avg_frame_rate")) or _parse_rate(stream.get("r_frame_rate"))
    duration = float(stream.get("duration") or probe.get("format", {}).get("duration") or 0.0)
    if duration <= 0 and fps > 0:
        duration = frames / fps
    return VideoInfo(
        width=int(stream["width"]),
        height=int(stream["height"]),
        fps=fps,
        frames=frames,
        duration=duration,
        codec=stream.get("codec_name", ""),
        pix_fmt=stream.get("pix_fmt", ""),
        size_bytes=size_bytes,
    )


def sample_frame_indices(total: int, num_frames: int) -> np.ndarray:
    """Equally spaced indices from first to last frame; with fewer frames than asked, indices repeat.

    Deterministic: the same (total, num_frames) always gives the same indices.
    """
    if total < 1:
        raise ValueError("cannot sample from a video with no frames")
    if num_frames < 1:
        raise ValueError(f"num_frames must be at least 1, got {num_frames}")
    if num_frames == 1:
        return np.array([(total - 1) // 2])
    return np.linspace(0, total - 1, num_frames).round().astype(np.int64)


def frame_rate_indices(total: int, source_fps: float, num_frames: int, fps: float) -> np.ndarray:
    """`num_frames` indices `1/fps` seconds apart, the window centred in the clip: the motion keeps its
    speed at the model's frame rate. A clip shorter than the window falls back to equal spacing over
    its whole length (`sample_frame_indices`), which slows its motion: the only way to fill the window."""
    if total < 1:
        raise ValueError("cannot sample from a video with no frames")
    step = source_fps / fps if source_fps > 0 and fps > 0 else 1.0
    span = (num_frames - 1) * step
    if span > total - 1:
        return sample_frame_indices(total, num_frames)
    start = (total - 1 - span) // 2
    return np.floor(start + step * np.arange(num_frames) + 0.5).astype(np.int64)


def read_frames(
    path: str | os.PathLike,
    num_frames: int | None = None,
    size: tuple[int, int] | None = None,
    *,
    fps: float | None = None,
    crop: bool = False,
    info: VideoInfo | None = None,
) -> np.ndarray:
    """Decode a video to uint8 [T, H, W, 3] RGB.

    num_frames: sample that many frames; None keeps all. Without `fps` they are equally spaced over
    the whole clip (`sample_frame_indices`); with it, `1/fps` seconds apart (`frame_rate_indices`).
    size: (height, width) to resize to, in the array's axis order; None keeps the stored size.
    crop: keep the aspect ratio, scale to cover `size` and cut the centre (no stretching).
    The whole stream is decoded then sampled: ingest limits bound the length, and decoding is the
    only way to know the true frame count when container headers are wrong.
    info: the file's probe when the caller already took it. A probe is an ffprobe process, as long as the
    decoding of a short clip: it is taken only when needed (no `size`, or `fps`).
    """
    if info is None and (not size or fps):
        info = probe_video(path)
    height, width = size if size else (info.height, info.width)
    stream = ffmpeg.input(str(path)).video
    if size and crop:
        stream = stream.filter("scale", width, height, force_original_aspect_ratio="increase").filter("crop", width, height)
    elif size:
        stream = stream.filter("scale", width, height)
    try:
        raw = _run_ffmpeg(stream.output("pipe:", format="rawvideo", pix_fmt="rgb24"))
    except RuntimeError as error:  # unprobed: a file ffmpeg cannot read is refused here, for the same reason
        raise VideoProbeError("not_a_video", f"not a video: {str(error).replace(str(path), Path(path).name)}") from error
    frame_bytes = height * width * 3
    decoded = len(raw) // frame_bytes
    if decoded == 0:
        raise VideoProbeError("no_frames", "zero frames: nothing could be decoded")
    frames = np.frombuffer(raw[: decoded * frame_bytes], np.uint8).reshape(decoded, height, width, 3)
    if num_frames is None:
        return frames.copy()
    if fps:
        return frames[frame_rate_indices(decoded, info.fps, num_frames, fps)].copy()
    return frames[sample_frame_indices(decoded, num_frames)].copy()


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def check_ingestable(path: str | os.PathLike, max_seconds: float, max_bytes: int) -> VideoInfo:
    """Accept an uploaded/imported file as a video, or raise VideoProbeError with the reason.

    Size is checked before probing so a huge file is refused without running ffprobe on it.
    """
    path = Path(path)
    if not path.is_file():
        raise VideoProbeError("unreadable", f"unreadable: {path.name} does not exist")
    size_bytes = path.stat().st_size
    if size_bytes > max_bytes:
        raise VideoProbeError("too_large", f"too large: {size_bytes} bytes, the limit is {max_bytes}")
    info = probe_video(path)
    if info.duration > max_seconds:
        raise VideoProbeError("too_long", f"too long: {info.duration:.1f} s, the limit is {max_seconds:g} s")
    return info
