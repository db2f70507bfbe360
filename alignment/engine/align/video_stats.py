"""Video statistics that need no pretrained model.

  flicker          mean absolute difference between consecutive frames (VBench's temporal flickering
                   idea without its static-clip filter); 0 for a still video
  interpolation    motion-smoothness proxy: mean |f_i − (f_{i−1} + f_{i+1})/2| over inner frames;
                   0 for constant-velocity linear change, large for jitter and dropped frames
  brightness_drift last-frame minus first-frame mean luminance (and the std over frames)
  contrast_drift   last minus first per-frame luminance standard deviation
All values are on the 0..1 scale of the pixel values.
"""

from __future__ import annotations

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114])


def _as_float(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be [T, H, W, 3], got {frames.shape}")
    if frames.shape[0] < 2:
        raise ValueError("video statistics need at least 2 frames")
    return frames.astype(np.float64) / 255.0 if frames.dtype == np.uint8 else frames.astype(np.float64)


def temporal_flicker(frames: np.ndarray) -> float:
    x = _as_float(frames)
    return float(np.abs(np.diff(x, axis=0)).mean())


def interpolation_error(frames: np.ndarray) -> float:
    x = _as_float(frames)
    if x.shape[0] < 3:
        raise ValueError("the interpolation proxy needs at least 3 frames")
    return float(np.abs(x[1:-1] - 0.5 * (x[:-2] + x[2:])).mean())


def luminance_series(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    luma = _as_float(frames) @ LUMA  # [T, H, W]
    flat = luma.reshape(luma.shape[0], -1)
    return flat.mean(axis=1), flat.std(axis=1)


def video_stats(frames: np.ndarray) -> dict[str, float]:
    brightness, contrast = luminance_series(frames)
    return {
        "flicker": temporal_flicker(frames),
        "interpolation_error": interpolation_error(frames) if len(brightness) >= 3 else float("nan"),
        "brightness_drift": float(brightness[-1] - brightness[0]),
        "brightness_std": float(brightness.std()),
        "contrast_drift": float(contrast[-1] - contrast[0]),
    }
