"""The pixel judge: the three LiFT ratings of a video of the synthetic world, measured from its frames.

The oracle knows what the renderer was told to draw; the judge knows nothing but the pixels and the
prompt, so it can rate videos the renderer did not make (a generator's). It measures, and each
measure becomes a *level* on the world's own scale (0 clean, 1 a mild defect, 2 a severe one):

  semantic  colour of the objects against the prompt's, their count per frame, the motion they show
  motion    the tracked objects' shake off their path (jitter) and the regularity of their progress
            along it (repeated or skipped instants), fitted against the world's paths
  fidelity  grain (noise), edge spread (blur), codec tiles (blocks)

A dimension's level is the worst of its measures; below 0.5 is Good, below 1.5 Normal, else Bad.
The thresholds sit between the world's clean, mild and severe defects (render.py, defects.py), so a
generator's video is rated by how far it is from a clean render, in the same units.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..critic.questions import RATING_REWARDS
from .grammar import COLOURS, SceneSpec, parse_prompt
from .measure import blockiness, label_components, luma, noise_sigma
from .render import gaussian_blur
from .render import world_constants as world

RATING_FOR_LEVEL = ((0.5, "Good"), (1.5, "Normal"), (math.inf, "Bad"))

# Level 1 and level 2 of each measure, in its own units (see each measure).
# Grain σ of the luma (0..255): the renderer's per-channel σ seen through the luma weights. Luma, because
# a stored video's yuv420p halves the chroma and with it a third of the grain; the luma keeps it.
LUMA_GAIN = float(np.linalg.norm([0.299, 0.587, 0.114]))
NOISE_LEVELS = (LUMA_GAIN * world.NOISE_SIGMA["mild"], LUMA_GAIN * world.NOISE_SIGMA["severe"])
# Edge σ / smaller side as `edge_blur` measures the world at 48×48 (medians over renders): 0.5 px for a
# clean render (its anti-aliased edges), 1.2 and 2.1 px for the mild and severe blur (σ 1.1 and 2.2).
BLUR_LEVELS = (0.5 / 48, 1.2 / 48, 2.1 / 48)
BLUR_SEARCH = np.round(np.arange(0.2, 3.51, 0.1), 2)  # candidate σ in pixels
JITTER_LEVELS = (world.JITTER_FRACTION["mild"], world.JITTER_FRACTION["severe"])  # shake σ / smaller side
# RGB distance from the prompt's colour (blended with the background down to COLOUR_COVERAGE): over the
# world's palette and scenes a halfway colour (mild) lies 53-106 away, another colour (severe) 140-213,
# so Good ends at 26 and Bad starts at 122 (level 0.5 and 1.5 of these knots).
COLOUR_COVERAGE = 0.8
COLOUR_LEVELS = (52.0, 286.0)
OBJECT_THRESHOLD = 0.55  # of the way from background to object colour: blurred neighbours stay apart

MIN_OBJECT_AREA = 6  # pixels; smaller specks are grain
SYMMETRY_FOLD = {"circle": 1, "triangle": 3, "square": 1}  # a marked shape's turn is read from its dot
LUMA = np.array([0.299, 0.587, 0.114])
MOVE_THRESHOLD = 0.2  # share of the width a horizontal mover must cross (the world's movers cross 0.45)
BOUNCE_THRESHOLD = 0.12  # share of the height a bounce must lift (the world's bounce lifts 0.3)
SPIN_THRESHOLD = 0.4  # share of the world's turn for its shape (render.SPIN_TURNS) a spinner must turn
IRREGULAR_STEP = 0.35  # a step this far from the typical step (as a share of it) repeats or skips an instant


def level_of(value: float, levels: tuple[float, ...]) -> float:
    """Level of a measure given its (mild, severe) knots, or (clean, mild, severe) where a clean video
    already measures above zero: 0 up to clean, 1 at mild, linear in between; 2 at severe, by ratio
    beyond mild (a severe defect is a multiple of a mild one, so Normal/Bad sits at their geometric mean)."""
    clean, mild, severe = levels if len(levels) == 3 else (0.0, *levels)
    if value <= mild:
        return max(0.0, (value - clean) / (mild - clean))
    return 1.0 + math.log(value / mild) / math.log(severe / mild)


def rating_of(level: float) -> str:
    return next(rating for bound, rating in RATING_FOR_LEVEL if level < bound)




@dataclass
class Verdict:
    """Ratings per dimension, the level behind each, and every measure (for reports and debugging)."""

    ratings: dict[str, str]
    levels: dict[str, float]
    measures: dict[str, float | str | int] = field(default_factory=dict)

    @property
    def reward(self) -> float:
        """LiFT's scalar reward of the ratings: mean of Good 0.9 / Normal 0.2 / Bad 0.05."""
        return sum(RATING_REWARDS[r] for r in self.ratings.values()) / len(self.ratings)


# ---------------------------------------------------------------------------------------------
# Objects per frame


@dataclass
class Blob:
    y: float
    x: float
    area: int
    angle: float | None  # phase of the object's turn (radians, period 2π/fold), None when unreadable


def _objects(smooth: np.ndarray, background: np.ndarray, colour: np.ndarray, contrast: float,
             shape: str) -> list[list[Blob]]:
    """Blobs per frame: pixels more than half-way from the background to the objects' colour.

    Positions are weighted by each pixel's coverage (how far it is towards the object colour) around
    the blob, so a blurred or tiled object's centre moves smoothly instead of in whole pixels or tiles.
    The turn of a triangle is read from its corners (the phase of its 3rd complex moment), a circle's
    or square's from the direction of its darker dot (render.marker_mask)."""
    span = colour - background.mean(0)
    span2 = max(float(span @ span), 1e-6)
    dot_colour = colour * world.MARKER_SHADE
    shade = colour - dot_colour
    shade2 = max(float(shade @ shade), 1e-6)
    fold = SYMMETRY_FOLD[shape]
    min_area = max(MIN_OBJECT_AREA, smooth.shape[1] * smooth.shape[2] // 400)
    yy, xx = np.mgrid[0 : smooth.shape[1], 0 : smooth.shape[2]]
    found = []
    for frame, bg in zip(smooth, background):
        to_bg = np.linalg.norm(frame - bg, axis=-1)
        dot_like = np.linalg.norm(frame - dot_colour, axis=-1) < np.minimum(to_bg, np.linalg.norm(frame - colour, axis=-1))
        labels, count = label_components(to_bg > OBJECT_THRESHOLD * contrast)
        coverage = np.clip((frame - bg) @ span / span2, 0.0, 1.0)
        darkness = np.clip((colour - frame) @ shade / shade2, 0.0, 1.0)
        blobs = []
        for label in range(1, count + 1):
            inside = labels == label
            area = int(inside.sum())
            if area < min_area:
                continue
            ys, xs = np.nonzero(inside)
            radius = math.sqrt(1.3 * area / math.pi)
            near = (yy - ys.mean()) ** 2 + (xx - xs.mean()) ** 2 <= radius**2
            holes = near & (labels == 0) & dot_like  # a dot darker than the line to the background
            weight = np.where(inside | holes, 1.0, np.where(near & (labels == 0), coverage, 0.0))
            cy, cx = (weight * yy).sum() / weight.sum(), (weight * xx).sum() / weight.sum()
            # Offsets as complex numbers, "up" real and "right" imaginary: a clockwise turn on screen by
            # a (the renderer's angles) multiplies them by e^{ia}, and their k-th powers by e^{ika}.
            offsets = -(yy - cy) + 1j * (xx - cx)
            if fold == 1:
                disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= (0.85 * radius) ** 2  # the dot, not the rim
                moment = (np.where(disc, darkness, 0.0) * offsets).sum() / max(area * radius, 1.0)
            else:
                moment = (weight * offsets**fold).sum() / max(weight.sum(), 1.0) / radius**fold
            phase = None if abs(moment) < (0.002 if fold == 1 else 0.01) else float(np.angle(moment))
            blobs.append(Blob(cy + 0.5, cx + 0.5, area + int(holes.sum()), phase))
        found.append(blobs)
    return found


def _counts(blobs: list[list[Blob]]) -> np.ndarray:
    """Objects per frame, a blob counted as as many objects as its area holds of a typical one's, so
    two objects that touch for a frame (a shake) still count as two."""
    areas = [b.area for frame in blobs for b in frame]
    if not areas:
        return np.zeros(len(blobs), dtype=int)
    typical = float(np.median(areas))
    return np.array([sum(max(1, round(b.area / typical)) for b in frame) for frame in blobs])


def _colour_and_background(smooth: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(objects' colour, per-frame background colour [T, 3], their distance).

    The background is each frame's median colour (objects cover well under half of it). Object pixels
    blend the objects' colour with the background wherever blur or tiles reach, so the colour is read
    at the far end of that blend: the direction from the background is the median of the pixels
    farthest from it, the extent the 90th percentile of how far the pixels on that line go along it
    (the darker wedges mostly lie off the line, and are too few to reach the 90th percentile on it)."""
    flat = smooth.reshape(len(smooth), -1, 3)
    background = np.median(flat, axis=1)
    offsets = flat - background[:, None]
    distance = np.linalg.norm(offsets, axis=-1)
    far = distance > 40
    if far.sum() < MIN_OBJECT_AREA:
        return background.mean(0), background, 0.0
    cores = far & (distance >= np.quantile(distance[far], 0.5))
    direction = np.median(offsets[cores], axis=0)
    length2 = max(float(direction @ direction), 1e-6)
    along = offsets[far] @ direction / length2
    off_line = np.linalg.norm(offsets[far] - along[:, None] * direction, axis=-1)
    on_line = off_line < 0.35 * math.sqrt(length2)
    extent = np.quantile(along[on_line], 0.9) if on_line.any() else 1.0
    colour = np.clip(background.mean(0) + extent * direction, 0, 255)
    return colour, background, float(np.linalg.norm(colour - background.mean(0)))


def colour_distance(measured: np.ndarray, target: np.ndarray, background: np.ndarray) -> float:
    """Distance of the measured colour from the target blended with the background (at least 80%
    target), so a tiled or blurred object of the right colour is not taken for another colour."""
    share = np.linspace(COLOUR_COVERAGE, 1.0, 41)[:, None]
    blends = background[None, :] + share * (target - background)[None, :]
    return float(np.linalg.norm(blends - measured[None, :], axis=1).min())


# ---------------------------------------------------------------------------------------------
# Tracks and motion


def _tracks(blobs: list[list[Blob]]) -> list[list[Blob | None]]:
    """Objects linked across frames by their slot: the coordinate across which they are laid out."""
    counts = [len(b) for b in blobs]
    slots = int(np.bincount(counts).argmax()) if counts else 0
    if slots == 0:
        return []
    full = [b for b in blobs if len(b) == slots]
    spread_y = np.median([np.ptp([o.y for o in b]) for b in full]) if slots > 1 else 0.0
    spread_x = np.median([np.ptp([o.x for o in b]) for b in full]) if slots > 1 else 0.0
    key = (lambda o: o.y) if spread_y > spread_x else (lambda o: o.x)
    centres = np.mean([sorted(key(o) for o in b) for b in full], axis=0)
    tracks: list[list[Blob | None]] = [[None] * len(blobs) for _ in range(slots)]
    for t, frame in enumerate(blobs):
        for blob in frame:
            slot = int(np.argmin(np.abs(centres - key(blob))))
            if tracks[slot][t] is None or blob.area > tracks[slot][t].area:
                tracks[slot][t] = blob
    return [track for track in tracks if sum(b is not None for b in track) >= 0.6 * len(blobs)]


def _series(tracks, attribute: str) -> np.ndarray:
    """[tracks, T] of an attribute, NaN where a track has no blob (or no marker angle)."""
    return np.array([[np.nan if b is None or getattr(b, attribute) is None else getattr(b, attribute) for b in track]
                     for track in tracks], dtype=float)


def _relative(values: np.ndarray) -> np.ndarray:
    """Each track minus its own mean, averaged over tracks: the common motion (NaN where none is seen)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a frame where no track is seen stays NaN
        return np.nanmean(values - np.nanmean(values, axis=1, keepdims=True), axis=0)


def _unwrapped_angles(tracks, shape: str) -> np.ndarray:
    """The objects' common turn in degrees per frame, unwrapped (NaN where unreadable)."""
    phases = _series(tracks, "angle")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a frame with no readable turn stays NaN
        mean = np.angle(np.nanmean(np.exp(1j * phases), axis=0))  # circular mean over tracks
    valid = ~np.isnan(mean)
    out = np.full(len(mean), np.nan)
    if valid.sum() >= 2:
        out[valid] = np.degrees(np.unwrap(mean[valid])) / SYMMETRY_FOLD[shape]
    return out


def bounce_shape(tau: np.ndarray) -> np.ndarray:
    """The world's bounce as a lift in [0, 1] over normalised time."""
    return np.abs(np.sin(math.pi * world.BOUNCES * tau))


def _fit_slope(values: np.ndarray) -> float:
    t = np.arange(len(values), dtype=float)
    ok = ~np.isnan(values)
    if ok.sum() < 2:
        return 0.0
    return float(np.polyfit(t[ok], values[ok], 1)[0])


def _bounce_lift(dy: np.ndarray) -> float:
    """Least-squares lift of dy against the bounce template (positive: the objects rise as it says)."""
    tau = np.linspace(0.0, 1.0, len(dy))
    ok = ~np.isnan(dy)
    if ok.sum() < 3:
        return 0.0
    design = np.stack([np.ones(ok.sum()), -bounce_shape(tau[ok])], axis=1)
    coeffs, *_ = np.linalg.lstsq(design, dy[ok], rcond=None)
    return float(coeffs[1])


def shown_motion(tracks, height: int, width: int, shape: str) -> tuple[str, dict]:
    """The motion the tracks show: "moving left/right", "bouncing", "spinning" or "still"."""
    dx, dy = _relative(_series(tracks, "x")), _relative(_series(tracks, "y"))
    frames = len(dx)
    travel = _fit_slope(dx) * (frames - 1) / width
    lift = _bounce_lift(dy) / height
    angles = _unwrapped_angles(tracks, shape)
    ok = ~np.isnan(angles)
    turn = float(angles[ok][-1] - angles[ok][0]) if ok.sum() >= 2 else 0.0
    facts = {"travel": round(travel, 3), "lift": round(lift, 3), "turn": round(turn, 1)}
    if abs(travel) >= MOVE_THRESHOLD:
        return ("moving right" if travel > 0 else "moving left"), facts
    if lift >= BOUNCE_THRESHOLD:
        return "bouncing", facts
    if abs(turn) >= SPIN_THRESHOLD * 360.0 * world.SPIN_TURNS[shape]:
        return "spinning", facts
    return "still", facts


def _progress(motion: str, tracks, shape: str) -> np.ndarray | None:
    """How far along its path the motion is in each frame (NaN where unseen), for the progress check."""
    if motion in ("moving left", "moving right"):
        return _relative(_series(tracks, "x"))
    if motion == "spinning":
        return _unwrapped_angles(tracks, shape)
    if motion == "bouncing":
        return _relative(_series(tracks, "y"))
    return None


def _viterbi(emission: np.ndarray, transition: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Indices of the cheapest path through [frames, states] costs."""
    frames = len(emission)
    cost = emission[0] + start
    back = np.zeros(emission.shape, dtype=int)
    for t in range(1, frames):
        total = cost[:, None] + transition
        back[t] = total.argmin(axis=0)
        cost = total.min(axis=0) + emission[t]
    index = [int((cost + end).argmin())]
    for t in range(frames - 1, 0, -1):
        index.append(int(back[t, index[-1]]))
    return np.array(index[::-1])


def _time_map(values: np.ndarray, path, noise: float, grid: np.ndarray) -> np.ndarray:
    """The normalised instant τ shown by each frame: the path position nearest each observation,
    chosen jointly (Viterbi, even steps preferred) so that where the path hardly moves (a bounce's
    top) the neighbours decide, and a bounce's rising and falling halves are told apart. The path's
    offset is unknown (where the objects sit); it is refitted from the chosen instants twice."""
    frames = len(values)
    step = (grid[None, :] - grid[:, None]) * (frames - 1)  # [from, to], in even steps
    # Even steps are preferred, but a repeated or skipped instant costs no more than a fixed price, so
    # the fit follows a real hitch instead of spreading it over its neighbours.
    transition = 2.0 * np.minimum((step - 1.0) ** 2, 0.36) + np.where(step < -0.25, 1e3, 0.0)  # no going back
    start, end = 100.0 * np.abs(grid), 100.0 * np.abs(grid - 1.0)  # clips show the whole path
    ok = ~np.isnan(values)
    template = path(grid)
    tau = np.linspace(0.0, 1.0, frames)
    for _ in range(3):
        offset = np.mean(values[ok] - path(tau[ok]))
        emission = np.where(ok[:, None], ((values[:, None] - offset - template[None, :]) / noise) ** 2, 0.0)
        tau = grid[_viterbi(emission, transition, start, end)]
    return tau


def irregular_steps(motion: str, tracks, height: int, width: int, shape: str) -> int:
    """Steps along the path that repeat an instant or skip ahead (against the clip's even step)."""
    values = _progress(motion, tracks, shape)
    if values is None or np.isnan(values).sum() > len(values) // 3:
        return 0
    sign = 1.0 if np.nansum(np.diff(values)) >= 0 else -1.0
    if motion == "bouncing":
        amplitude = world.BOUNCE_HEIGHT * height
        path, noise = (lambda tau: -amplitude * bounce_shape(tau)), 0.3  # noqa: E731 (pixels)
    elif motion == "spinning":
        path, noise = (lambda tau: sign * 360.0 * world.SPIN_TURNS[shape] * tau), 4.0  # noqa: E731 (degrees)
    else:
        path, noise = (lambda tau: sign * world.TRAVEL * width * tau), 0.3  # noqa: E731 (pixels)
    tau = _time_map(values, path, noise, np.linspace(-0.05, 1.05, 221))
    steps = np.diff(tau)
    # Against the typical step (a skip makes the others shorter, so the even step is not it).
    typical = max(float(np.median(steps)), 1e-6)
    return int(np.sum(np.abs(steps / typical - 1.0) > IRREGULAR_STEP))


def shake(motion: str, tracks, size: int) -> float:
    """σ of the objects' positions off their path, as a share of the smaller side.

    Measured across the path only (the along-path part of a shake looks like uneven progress): rows
    for horizontal movers, columns for bouncers, both for spinners and still objects. Each track's
    own offsets are compared with the common motion, so the path itself drops out.
    """
    xs, ys = _series(tracks, "x"), _series(tracks, "y")
    across = {"moving left": [ys], "moving right": [ys], "bouncing": [xs]}.get(motion, [xs, ys])
    residuals = [values - np.nanmean(values, axis=1, keepdims=True) for values in across]
    return float(np.sqrt(np.nanmean(np.concatenate(residuals) ** 2))) / size


# ---------------------------------------------------------------------------------------------
# Picture


def edge_blur(frames: np.ndarray, background: np.ndarray, colour: np.ndarray) -> float:
    """Edge σ in pixels, by analysis through synthesis: the objects' coverage (how far each pixel is
    from the background towards their colour) is cut at one half into hard-edged shapes, and the σ
    whose Gaussian blur of those shapes best matches the coverage around their edges is the answer.
    It does not depend on the objects' size, which reading edge widths or steepest steps did."""
    span = colour - background.mean(0)
    coverage = np.clip((frames - background[:, None, None]) @ span / max(float(span @ span), 1e-6), 0.0, 1.0)
    shapes = (coverage > 0.5).astype(np.float64)[..., None]
    spread = gaussian_blur(shapes, BLUR_SEARCH[-1])[..., 0]
    edges = (spread > 0.01) & (spread < 0.99)
    if not edges.any():
        return 0.0
    errors = [np.mean((gaussian_blur(shapes, sigma)[..., 0] - coverage)[edges] ** 2) for sigma in BLUR_SEARCH]
    return float(BLUR_SEARCH[int(np.argmin(errors))])


def picture_levels(frames: np.ndarray, smooth: np.ndarray, background, colour) -> dict[str, float]:
    """Grain, tiles and edge spread. Grain and tiles also spread edges, so blur is read only without them."""
    size = min(frames.shape[1:3])
    sigma = noise_sigma(luma(frames)[..., None])
    block, _ = blockiness(luma(frames).mean(axis=0), size // 6)
    tiles = block > 2
    blur = 0.0 if tiles or sigma >= NOISE_LEVELS[0] / 2 else edge_blur(frames, background, colour) / size
    block_levels = tuple(float(size // world.BLOCKS_PER_SIDE[s]) for s in ("mild", "severe"))  # render.damaged
    return {
        "noise_sigma": round(sigma, 2),
        "blur_sigma": round(blur * size, 2),
        "block": block,
        "noise_level": level_of(sigma, NOISE_LEVELS),
        "blur_level": level_of(blur, BLUR_LEVELS),
        "block_level": level_of(block, block_levels) if tiles else 0.0,
    }


# ---------------------------------------------------------------------------------------------


def judge(frames: np.ndarray, prompt: str | SceneSpec) -> Verdict:
    """Rate uint8 frames [T, H, W, 3] against the prompt (text of the world's grammar, or a SceneSpec)."""
    spec = prompt if isinstance(prompt, SceneSpec) else parse_prompt(prompt)
    raw = frames.astype(np.float64)
    frames_count, height, width = raw.shape[:3]
    size = min(height, width)
    sigma = noise_sigma(luma(raw)[..., None])
    # Grain is smoothed before anything is segmented, gently: a median would erase the marker dots.
    smooth = raw if sigma < NOISE_LEVELS[0] / 4 else gaussian_blur(raw, 0.6 if sigma < NOISE_LEVELS[1] * 0.75 else 1.0)
    colour, background, contrast = _colour_and_background(smooth)
    picture = picture_levels(raw, smooth, background, colour)
    measures: dict = {**picture}
    fidelity = max(picture["noise_level"], picture["blur_level"], picture["block_level"])
    if contrast == 0.0:
        measures["objects"] = 0
        levels = {"semantic": 2.0, "motion": 2.0, "fidelity": fidelity}
        return Verdict({d: rating_of(v) for d, v in levels.items()}, levels, measures)

    blobs = _objects(smooth, background, colour, contrast, spec.shape)
    counts = _counts(blobs)
    wrong_count_share = float(np.mean(counts != spec.count))
    off_colour = colour_distance(colour, np.array(COLOURS[spec.colour], dtype=float), background.mean(0))
    tracks = _tracks(blobs)
    motion, facts = shown_motion(tracks, height, width, spec.shape) if tracks else ("still", {})
    motion_level = 0.0 if motion == spec.motion else (1.0 if motion == "still" else 2.0)
    semantic = max(level_of(off_colour, COLOUR_LEVELS), 2.0 * wrong_count_share, motion_level)

    jitter = shake(motion, tracks, size) if tracks else 1.0
    jitter_level = level_of(jitter, JITTER_LEVELS)
    irregular = irregular_steps(motion, tracks, height, width, spec.shape) if tracks else frames_count
    # A shake also makes progress along the path uneven, so irregular steps count only without one.
    timing_level = 0.0 if irregular == 0 else (1.0 if irregular <= 2 else 2.0)
    motion_smoothness = jitter_level if jitter_level >= 0.5 else max(jitter_level, timing_level)

    measures.update(objects=int(np.median(counts)), counts="".join(str(min(c, 9)) for c in counts),
                    colour=[round(c) for c in colour], colour_distance=round(off_colour, 1),
                    shown_motion=motion, **facts, shake=round(jitter, 4), irregular_steps=irregular,
                    colour_level=level_of(off_colour, COLOUR_LEVELS), count_level=2.0 * wrong_count_share,
                    motion_level=motion_level, shake_level=jitter_level, timing_level=timing_level)
    levels = {"semantic": semantic, "motion": motion_smoothness, "fidelity": fidelity}
    return Verdict({d: rating_of(v) for d, v in levels.items()}, {d: round(v, 3) for d, v in levels.items()}, measures)
