"""Draw a SceneSpec as frames, putting in exactly the requested defects.

The pipeline, each step a small pure function:
  time map (motion defects stutter/frame_drop) → object positions and angles per frame
  (shown motion, jitter) → shapes painted on the scene's background (shown colour and count)
  → picture damage (fidelity defects).
`seed` only drives the randomness of jitter and noise; everything else follows from the spec
and the defects, so the oracle can describe the video without looking at it.
"""

from __future__ import annotations

import math

import numpy as np

from .defects import Defect, Defects, STILL, shown_colour, shown_count, shown_motion
from .grammar import SCENES, SceneSpec

MIN_FRAMES = 4  # a mild stutter or drop in the middle needs frames on both sides
SPIN_TURNS = 1.0
BOUNCES = 2.0

JITTER_FRACTION = {"mild": 0.04, "severe": 0.15}  # of the smaller side
# Picture damage is sized for the critic's 56×56 input, where a rater (or the critic) must see it:
# the scenes are flat colour, so blur and blocks show only around the shapes' edges, and a 1-pixel
# blur or 3-pixel blocks there were barely distinguishable from clean. Mild is plainly visible,
# severe plainly stronger (blur 1.5 vs 4 px, blocks 7 vs 14 px, grain 20 vs 60 at 56×56).
NOISE_SIGMA = {"mild": 20.0, "severe": 60.0}  # in 0..255 units
BLUR_SIGMA_FRACTION = {"mild": 1.5 / 56, "severe": 4.0 / 56}
BLOCKS_PER_SIDE = {"mild": 8, "severe": 4}
MARKER_SHADE = 0.45  # circles carry a darker dot so a spinning circle visibly turns


# ---------------------------------------------------------------------------------------------
# Time: which instant of the smooth motion each frame shows


def time_map(num_frames: int, motion: Defect) -> np.ndarray:
    """Normalised time τ ∈ [0, 1] shown by each frame.

    stutter: a frame repeats the previous instant (mild: once mid-clip; severe: every other frame).
    frame_drop: the clip skips instants (mild: two mid-clip; severe: two after every third frame),
    rescaled so the objects still cover the same path.
    """
    steps = np.arange(num_frames, dtype=np.float64)
    if num_frames == 1:
        return np.zeros(1)
    middle = num_frames // 2
    if motion.active and motion.kind == "stutter":
        if motion.severity == "mild":
            steps[middle] = steps[middle - 1]
        else:
            steps = 2 * np.floor(steps / 2)
        return steps / (num_frames - 1)
    if motion.active and motion.kind == "frame_drop":
        if motion.severity == "mild":
            steps = steps + 2 * (steps >= middle)
        else:
            steps = steps + 2 * np.floor(steps / 3)
        return steps / steps[-1]
    return steps / (num_frames - 1)


# ---------------------------------------------------------------------------------------------
# Layout: where each object is, per frame


def object_radius(height: int, width: int, layout_count: int) -> float:
    return 0.8 * min(height, width) / (2 * max(layout_count, 2))


def object_tracks(
    motion: str, layout_count: int, tau: np.ndarray, height: int, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Centres [T, n, 2] as (y, x) pixels and angles [T, n] in radians.

    Horizontal movers are stacked in rows, the others spread along one row, so objects never
    overlap and each one stays countable.
    """
    n, frames = layout_count, len(tau)
    slots = (np.arange(n) + 0.5) / n
    centres = np.zeros((frames, n, 2))
    angles = np.zeros((frames, n))
    if motion in ("moving left", "moving right"):
        direction = -1.0 if motion == "moving left" else 1.0
        centres[..., 0] = slots[None, :] * height
        centres[..., 1] = (width / 2 + direction * 0.45 * width * (tau - 0.5))[:, None]
        return centres, angles
    centres[..., 1] = slots[None, :] * width
    centres[..., 0] = height / 2
    if motion == "bouncing":
        amplitude = 0.3 * height
        lift = amplitude * np.abs(np.sin(math.pi * BOUNCES * tau))
        centres[..., 0] = (height / 2 + amplitude / 2 - lift)[:, None]
    elif motion == "spinning":
        angles[:] = (2 * math.pi * SPIN_TURNS * tau)[:, None]
    elif motion != STILL:
        raise ValueError(f"unknown motion {motion!r}")
    return centres, angles


def jittered(centres: np.ndarray, motion: Defect, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    if not (motion.active and motion.kind == "jitter"):
        return centres
    amplitude = JITTER_FRACTION[motion.severity] * min(height, width)
    return centres + rng.normal(0.0, amplitude, size=centres.shape)


# ---------------------------------------------------------------------------------------------
# Painting


def shape_mask(shape: str, dy: np.ndarray, dx: np.ndarray, radius: float, angle: float) -> np.ndarray:
    """Pixels inside a shape centred at the origin; dy/dx are pixel offsets from the centre."""
    if shape == "circle":
        return dy**2 + dx**2 <= radius**2
    cos, sin = math.cos(angle), math.sin(angle)
    if shape == "square":
        half = 0.85 * radius
        u, v = cos * dx + sin * dy, -sin * dx + cos * dy
        return (np.abs(u) <= half) & (np.abs(v) <= half)
    if shape == "triangle":
        # Equilateral, circumradius `radius`: inside all three edges, each at distance radius/2.
        inside = np.ones_like(dx, dtype=bool)
        for k in range(3):
            normal = angle + math.pi / 2 + k * 2 * math.pi / 3
            inside &= dx * math.cos(normal) + dy * math.sin(normal) <= radius / 2
        return inside
    raise ValueError(f"unknown shape {shape!r}")


def circle_marker_mask(dy: np.ndarray, dx: np.ndarray, radius: float, angle: float) -> np.ndarray:
    offset_y, offset_x = 0.55 * radius * math.sin(angle - math.pi / 2), 0.55 * radius * math.cos(angle - math.pi / 2)
    return (dy - offset_y) ** 2 + (dx - offset_x) ** 2 <= (0.3 * radius) ** 2


def visible_counts(spec: SceneSpec, defects: Defects, num_frames: int) -> np.ndarray:
    """How many objects each frame shows (a mild wrong_count adds one halfway)."""
    first_half, second_half = shown_count(spec, defects)
    return np.where(np.arange(num_frames) < num_frames // 2, first_half, second_half)


def paint(
    spec: SceneSpec,
    colour: tuple[int, int, int],
    counts: np.ndarray,
    centres: np.ndarray,
    angles: np.ndarray,
    radius: float,
    height: int,
    width: int,
) -> np.ndarray:
    frames = np.empty((len(counts), height, width, 3), dtype=np.float64)
    frames[:] = SCENES[spec.scene]
    yy, xx = np.mgrid[0:height, 0:width] + 0.5
    marker_colour = np.array(colour) * MARKER_SHADE
    for t, visible in enumerate(counts):
        for i in range(visible):
            dy, dx = yy - centres[t, i, 0], xx - centres[t, i, 1]
            frames[t][shape_mask(spec.shape, dy, dx, radius, angles[t, i])] = colour
            if spec.shape == "circle":
                frames[t][circle_marker_mask(dy, dx, radius, angles[t, i])] = marker_colour
    return frames


# ---------------------------------------------------------------------------------------------
# Picture damage (fidelity)


def gaussian_blur(frames: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur over H and W of float [T, H, W, C], edges repeated."""
    reach = max(1, int(math.ceil(3 * sigma)))
    offsets = np.arange(-reach, reach + 1)
    kernel = np.exp(-(offsets**2) / (2 * sigma**2))
    kernel /= kernel.sum()
    for axis in (1, 2):
        pad = [(0, 0)] * frames.ndim
        pad[axis] = (reach, reach)
        padded = np.pad(frames, pad, mode="edge")
        size = frames.shape[axis]
        frames = sum(w * np.take(padded, np.arange(size) + reach + o, axis=axis) for w, o in zip(kernel, offsets))
    return frames


def blocky(frames: np.ndarray, block: int) -> np.ndarray:
    """Average each block×block tile, like a starved video codec."""
    _, height, width, _ = frames.shape
    pad_h, pad_w = -height % block, -width % block
    padded = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    t, ph, pw, c = padded.shape
    tiles = padded.reshape(t, ph // block, block, pw // block, block, c).mean(axis=(2, 4), keepdims=True)
    return np.broadcast_to(tiles, (t, ph // block, block, pw // block, block, c)).reshape(padded.shape)[
        :, :height, :width
    ]


def damaged(frames: np.ndarray, fidelity: Defect, rng: np.random.Generator) -> np.ndarray:
    if not fidelity.active:
        return frames
    _, height, width, _ = frames.shape
    if fidelity.kind == "noise":
        return frames + rng.normal(0.0, NOISE_SIGMA[fidelity.severity], size=frames.shape)
    if fidelity.kind == "blur":
        return gaussian_blur(frames, BLUR_SIGMA_FRACTION[fidelity.severity] * min(height, width))
    block = max(2, min(height, width) // BLOCKS_PER_SIDE[fidelity.severity])
    return blocky(frames, block)


# ---------------------------------------------------------------------------------------------


def render(
    spec: SceneSpec,
    defects: Defects | None = None,
    *,
    frames: int = 16,
    size: tuple[int, int] = (64, 64),
    seed: int = 0,
) -> np.ndarray:
    """Render uint8 [frames, height, width, 3]; size is (height, width). Same inputs, same pixels."""
    defects = defects or Defects.clean()
    spec.validate()
    defects.validate()
    height, width = size
    if frames < MIN_FRAMES:
        raise ValueError(f"frames must be at least {MIN_FRAMES}, got {frames}")
    if min(height, width) < 16:
        raise ValueError(f"size must be at least 16x16, got {size}")
    jitter_rng, noise_rng = (np.random.default_rng([seed, stream]) for stream in (0, 1))

    counts = visible_counts(spec, defects, frames)
    layout_count = int(counts.max())
    tau = time_map(frames, defects.motion)
    centres, angles = object_tracks(shown_motion(spec, defects), layout_count, tau, height, width)
    centres = jittered(centres, defects.motion, height, width, jitter_rng)
    _, colour = shown_colour(spec, defects)
    radius = object_radius(height, width, layout_count)
    video = paint(spec, colour, counts, centres, angles, radius, height, width)
    video = damaged(video, defects.fidelity, noise_rng)
    return np.clip(np.round(video), 0, 255).astype(np.uint8)
