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
from dataclasses import dataclass

import numpy as np

from .defects import Defect, Defects, STILL, shown_colour, shown_count, shown_motion
from .grammar import SCENES, SceneSpec

MIN_FRAMES = 4  # a mild stutter or drop in the middle needs frames on both sides
# The tiny world's clip: what the tiny generator makes (CogVideoX wants 8k+1 frames) and the tiny critic
# and the pixel judge see. Defect sizes below are tuned so that every label shows at this geometry.
CLIP_FRAMES, CLIP_SIZE = 9, (48, 48)
# Turns over the clip, per shape: less than half the shape's symmetry per frame, even across a skip
# (a square turned by 45° looks the same turned either way), so every turn reads one way. At 4 frames
# a triangle once turned 120° per frame and looked still.
SPIN_TURNS = {"circle": 1.0, "triangle": 0.5, "square": 1.0}
SYMMETRY_DEGREES = {"circle": 360.0, "triangle": 120.0, "square": 360.0}  # marked shapes: their dot
# 1.5 bounces, not a whole number: with whole bounces the path is mirror-symmetric about mid-clip, so
# at even frame counts the frame a mild stutter repeats sits exactly where the clean frame would be.
BOUNCES = 1.5
BOUNCE_HEIGHT = 0.3  # of the height
TRAVEL = 0.45  # horizontal movers cross this share of the width
RADIUS_SHARE = 0.7  # objects' radius: this share of half a layout slot, so neighbours keep a gap under blur

JITTER_FRACTION = {"mild": 0.035, "severe": 0.10}  # of the smaller side
# Picture damage is sized so that a rater sees it at the critic's input (48×48 in the tiny world) without
# it hiding what the other two dimensions are about: mild is plainly visible (grain 20, blur 1.1 px,
# 4-px tiles at 48×48), severe plainly stronger (grain 45, blur 2.2 px, 6-px tiles), yet the objects
# stay countable, their colour readable and their steps trackable. (An earlier world's 12-px tiles and
# 3.4-px blur swallowed three small triangles whole: a wrong count or colour under them could not be
# seen by anyone, which made those labels noise.)
NOISE_SIGMA = {"mild": 20.0, "severe": 45.0}  # in 0..255 units
BLUR_SIGMA_FRACTION = {"mild": 1.1 / 48, "severe": 2.2 / 48}
BLOCKS_PER_SIDE = {"mild": 12, "severe": 8}
# Circles and squares carry a darker dot off their centre, so that a spinning circle visibly turns and
# a square's turn reads one way round (triangles, too thin for a dot, show it by their corners).
MARKED_SHAPES = ("circle", "square")
MARKER_SHADE = 0.45
MARKER_OFFSET, MARKER_RADIUS = 0.5, 0.3  # of the radius
SUPERSAMPLE = 4  # anti-aliasing: samples per pixel along each side


# ---------------------------------------------------------------------------------------------
# Time: which instant of the smooth motion each frame shows


def time_map(num_frames: int, motion: Defect) -> np.ndarray:
    """Normalised time τ ∈ [0, 1] shown by each frame.

    stutter: a frame repeats the previous instant (mild: once mid-clip; severe: every other frame).
    frame_drop: the clip skips instants (mild: two mid-clip; severe: two before every other frame),
    rescaled so the objects still cover the same path. (Severe once skipped after every third frame,
    which at 6 frames is the same single skip as mild.)
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
            steps = steps + 2 * np.floor((steps + 1) / 2)
        return steps / steps[-1]
    return steps / (num_frames - 1)


# ---------------------------------------------------------------------------------------------
# Layout: where each object is, per frame


def object_radius(height: int, width: int, layout_count: int) -> float:
    return RADIUS_SHARE * min(height, width) / (2 * max(layout_count, 2))


def object_tracks(
    motion: str, layout_count: int, tau: np.ndarray, height: int, width: int, shape: str = "circle"
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
        centres[..., 1] = (width / 2 + direction * TRAVEL * width * (tau - 0.5))[:, None]
        return centres, angles
    centres[..., 1] = slots[None, :] * width
    centres[..., 0] = height / 2
    if motion == "bouncing":
        amplitude = BOUNCE_HEIGHT * height
        lift = amplitude * np.abs(np.sin(math.pi * BOUNCES * tau))
        centres[..., 0] = (height / 2 + amplitude / 2 - lift)[:, None]
    elif motion == "spinning":
        angles[:] = (2 * math.pi * SPIN_TURNS[shape] * tau)[:, None]
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


def marker_mask(dy: np.ndarray, dx: np.ndarray, radius: float, angle: float) -> np.ndarray:
    """The dot: "up" at angle 0, turning clockwise on screen as the angle grows."""
    offset = MARKER_OFFSET * radius
    return (dy + offset * math.cos(angle)) ** 2 + (dx - offset * math.sin(angle)) ** 2 <= (MARKER_RADIUS * radius) ** 2


def visible_counts(spec: SceneSpec, defects: Defects, num_frames: int) -> np.ndarray:
    """How many objects each frame shows (a mild wrong_count adds one halfway)."""
    first_half, second_half = shown_count(spec, defects)
    return np.where(np.arange(num_frames) < num_frames // 2, first_half, second_half)


def _sample_points(top: int, left: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The SUPERSAMPLE² sample points of each pixel of a height×width window at (top, left)."""
    offsets = (np.arange(SUPERSAMPLE) + 0.5) / SUPERSAMPLE
    rows = (np.arange(top, top + height)[:, None] + offsets[None, :]).reshape(-1)
    columns = (np.arange(left, left + width)[:, None] + offsets[None, :]).reshape(-1)
    return np.meshgrid(rows, columns, indexing="ij")


def _share(inside: np.ndarray, height: int, width: int) -> np.ndarray:
    """Sample grid → per-pixel coverage in [0, 1]."""
    return inside.reshape(height, SUPERSAMPLE, width, SUPERSAMPLE).mean(axis=(1, 3))


def shape_shares(spec: SceneSpec, counts, centres, angles, radius: float, height: int, width: int):
    """Per frame, per object: (body coverage, dot coverage or None) [H, W] each, anti-aliased. Only the
    window around each object is sampled (a shape never reaches past its radius)."""
    reach = int(np.ceil(radius)) + 1
    for t, visible in enumerate(counts):
        objects = []
        for i in range(visible):
            cy, cx = centres[t, i]
            top, left = max(0, int(cy) - reach), max(0, int(cx) - reach)
            bottom, right = min(height, int(cy) + reach + 1), min(width, int(cx) + reach + 1)
            body, dot = np.zeros((height, width)), None
            if bottom > top and right > left:
                yy, xx = _sample_points(top, left, bottom - top, right - left)
                dy, dx = yy - cy, xx - cx
                inside = shape_mask(spec.shape, dy, dx, radius, angles[t, i])
                body[top:bottom, left:right] = _share(inside, bottom - top, right - left)
                if spec.shape in MARKED_SHAPES:
                    dot = np.zeros((height, width))
                    dot[top:bottom, left:right] = _share(inside & marker_mask(dy, dx, radius, angles[t, i]),
                                                         bottom - top, right - left)
            objects.append((body, dot))
        yield objects


def paint(
    spec: SceneSpec,
    colour: tuple[int, int, int],
    counts: np.ndarray,
    centres: np.ndarray,
    angles: np.ndarray,
    radius: float,
    height: int,
    width: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Shapes on the scene's background, anti-aliased: each pixel is covered by the share of its
    SUPERSAMPLE² sample points inside the shape, so an object's centre moves by fractions of a pixel
    (with hard edges a square's centre snapped to half pixels, and a steady glide looked uneven).
    Returns the frames [T, H, W, 3] and the objects' coverage [T, H, W]."""
    frames = np.empty((len(counts), height, width, 3), dtype=np.float64)
    frames[:] = SCENES[spec.scene]
    cover = np.zeros((len(counts), height, width))
    body, marker = np.array(colour, dtype=np.float64), np.array(colour) * MARKER_SHADE
    for t, objects in enumerate(shape_shares(spec, counts, centres, angles, radius, height, width)):
        for inside, dot in objects:
            frames[t] += inside[..., None] * (body - frames[t])
            cover[t] = np.maximum(cover[t], inside)
            if dot is not None:
                frames[t] += dot[..., None] * (marker - frames[t])
    return frames, cover


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
    """Replace each block×block tile by the plane that fits it best, like a starved codec that keeps
    only each tile's mean and slopes. The tiles show as seams, while each tile's mass and its centre
    stay where they were, so objects move as smoothly as before (plain tile means made objects hop
    from tile to tile, which looked like a stutter under every tiled video)."""
    _, height, width, _ = frames.shape
    pad_h, pad_w = -height % block, -width % block
    padded = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    t, ph, pw, c = padded.shape
    tiles = padded.reshape(t, ph // block, block, pw // block, block, c)
    ramp = np.arange(block) - (block - 1) / 2  # centred, so mean and slopes fit independently
    norm = (ramp**2).sum() * block
    mean = tiles.mean(axis=(2, 4), keepdims=True)
    slope_y = np.einsum("tiyjxc,y->tijc", tiles, ramp)[:, :, None, :, None] / norm
    slope_x = np.einsum("tiyjxc,x->tijc", tiles, ramp)[:, :, None, :, None] / norm
    planes = mean + slope_y * ramp[None, None, :, None, None, None] + slope_x * ramp[None, None, None, None, :, None]
    return planes.reshape(padded.shape)[:, :height, :width]


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


@dataclass(frozen=True)
class Layout:
    """Where everything is in each frame: what `render` paints and `describe` tells."""

    counts: np.ndarray  # [T] objects shown
    centres: np.ndarray  # [T, n, 2] (y, x) pixels, jitter included
    angles: np.ndarray  # [T, n] radians
    radius: float
    tau: np.ndarray  # [T] the instant of the smooth motion each frame shows
    shake: np.ndarray  # [T] mean distance (pixels) the jitter moves the objects off their path


def layout(spec: SceneSpec, defects: Defects, *, frames: int, size: tuple[int, int], seed: int) -> Layout:
    height, width = size
    counts = visible_counts(spec, defects, frames)
    layout_count = int(counts.max())
    tau = time_map(frames, defects.motion)
    smooth, angles = object_tracks(shown_motion(spec, defects), layout_count, tau, height, width, spec.shape)
    centres = jittered(smooth, defects.motion, height, width, np.random.default_rng([seed, 0]))
    shake = np.linalg.norm(centres - smooth, axis=-1).mean(axis=1)
    return Layout(counts, centres, angles, object_radius(height, width, layout_count), tau, shake)


@dataclass(frozen=True)
class Rendered:
    """A render with what the renderer knows densely about it (for pretraining: critic/pretrain)."""

    frames: np.ndarray  # uint8 [T, H, W, 3], as `render` returns
    undamaged: np.ndarray  # float [T, H, W, 3]: the same picture before its fidelity defect
    coverage: np.ndarray  # float [T, H, W] in [0, 1]: how much of each pixel the objects cover
    layout: Layout


def render_with_truth(spec: SceneSpec, defects: Defects | None = None, *, frames: int = 16,
                      size: tuple[int, int] = (64, 64), seed: int = 0) -> Rendered:
    """`render`, keeping the undamaged picture and the objects' coverage it painted on the way."""
    defects = defects or Defects.clean()
    spec.validate()
    defects.validate()
    height, width = size
    if frames < MIN_FRAMES:
        raise ValueError(f"frames must be at least {MIN_FRAMES}, got {frames}")
    if min(height, width) < 16:
        raise ValueError(f"size must be at least 16x16, got {size}")
    placed = layout(spec, defects, frames=frames, size=size, seed=seed)
    _, colour = shown_colour(spec, defects)
    painted, cover = paint(spec, colour, placed.counts, placed.centres, placed.angles, placed.radius, height, width)
    video = damaged(painted, defects.fidelity, np.random.default_rng([seed, 1]))
    return Rendered(np.clip(np.round(video), 0, 255).astype(np.uint8), painted, cover, placed)


def render(
    spec: SceneSpec,
    defects: Defects | None = None,
    *,
    frames: int = 16,
    size: tuple[int, int] = (64, 64),
    seed: int = 0,
) -> np.ndarray:
    """Render uint8 [frames, height, width, 3]; size is (height, width). Same inputs, same pixels."""
    return render_with_truth(spec, defects, frames=frames, size=size, seed=seed).frames


class world_constants:  # noqa: N801 (a namespace, read as `world.BOUNCES` by the judge)
    """The renderer's constants under one name, for code that measures videos against them."""

    BOUNCES, BOUNCE_HEIGHT, TRAVEL, SPIN_TURNS = BOUNCES, BOUNCE_HEIGHT, TRAVEL, SPIN_TURNS
    JITTER_FRACTION, NOISE_SIGMA = JITTER_FRACTION, NOISE_SIGMA
    BLUR_SIGMA_FRACTION, BLOCKS_PER_SIDE, MARKER_SHADE = BLUR_SIGMA_FRACTION, BLOCKS_PER_SIDE, MARKER_SHADE
    SYMMETRY_DEGREES = SYMMETRY_DEGREES
