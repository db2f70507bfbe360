import numpy as np
import pytest

from alignment.engine.align.video_stats import interpolation_error, temporal_flicker, video_stats


def test_still_video_has_no_flicker_and_linear_fade_interpolates_exactly():
    still = np.full((5, 8, 8, 3), 100, np.uint8)
    assert temporal_flicker(still) == 0.0
    fade = np.stack([np.full((8, 8, 3), 40 * i, np.uint8) for i in range(5)])
    assert interpolation_error(fade) == pytest.approx(0.0)
    stats = video_stats(fade)
    assert stats["flicker"] == pytest.approx(40 / 255)
    assert stats["brightness_drift"] == pytest.approx(160 / 255)
    assert stats["contrast_drift"] == pytest.approx(0.0)


def test_jitter_raises_the_interpolation_error():
    from tests.engine.align.conftest import world_clip

    smooth = world_clip("one red square moving right on a grey floor", 0)
    flickering = smooth.copy()
    flickering[::2] = 255 - flickering[::2]
    assert interpolation_error(flickering) > 5 * interpolation_error(smooth)
    assert temporal_flicker(flickering) > temporal_flicker(smooth)
