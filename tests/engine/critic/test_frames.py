"""Frame sampling edge cases and the Qwen2-VL patch layout."""

import numpy as np
import pytest

from alignment.engine.critic.data import sample_frames, sample_indices
from alignment.engine.critic.questions import CriticDataError
from alignment.engine.critic.spec import VisionGeometry, patchify


def test_indices_equal_intervals_and_short_videos():
    assert sample_indices(16, 8).tolist() == [0, 2, 4, 6, 9, 11, 13, 15]
    assert sample_indices(3, 8).tolist() == [0, 0, 1, 1, 1, 1, 2, 2]  # fewer frames: repeated in order
    assert sample_indices(1, 4).tolist() == [0, 0, 0, 0]
    assert sample_indices(9, 1).tolist() == [4]
    with pytest.raises(CriticDataError):
        sample_indices(0, 8)


def test_array_frames_resized_to_patch_multiples():
    geometry = VisionGeometry(7, 2, 2)
    size = geometry.snap((61, 45))  # odd size → nearest multiples of 14
    assert size == (56, 42)
    frames = np.random.default_rng(0).integers(0, 255, (5, 61, 45, 3), dtype=np.uint8)
    out = sample_frames(frames, 8, size)
    assert out.shape == (8, 56, 42, 3) and out.dtype == np.uint8
    with pytest.raises(CriticDataError):
        sample_frames(np.zeros((0, 8, 8, 3), np.uint8), 8, size)


def test_video_file_frames(tmp_path):
    from alignment.engine.video_io import encode_video

    frames = np.zeros((6, 50, 70, 3), np.uint8)
    frames[:, :, :, 0] = np.arange(6)[:, None, None] * 40
    path = tmp_path / "v.mp4"
    encode_video(frames, path, fps=8)
    out = sample_frames(path, 8, (56, 56))
    assert out.shape == (8, 56, 56, 3)
    assert out[0, ..., 0].mean() < out[-1, ..., 0].mean()  # order kept
    with pytest.raises(CriticDataError):
        sample_frames(tmp_path / "missing.mp4", 8, (56, 56))


def test_untimed_fixed_size_decoding_gives_the_probed_frames_and_refuses_the_same_files(tmp_path):
    # A model that takes no frame rate, at a fixed size, skips the probe: the same frames, no rate, same refusals.
    from alignment.engine.critic.data import sample_frames_timed
    from alignment.engine.video_io import encode_video

    path = tmp_path / "v.mp4"
    encode_video(np.random.default_rng(0).integers(0, 256, (9, 48, 48, 3), dtype=np.uint8), path, fps=8)
    probed, rate = sample_frames_timed(path, 8, (56, 56))
    unprobed, no_rate = sample_frames_timed(path, 8, (56, 56), timed=False)
    assert np.array_equal(probed, unprobed) and rate == pytest.approx(8 / 1.125) and no_rate is None
    (tmp_path / "text.mp4").write_text("not a video\n" * 10)
    with pytest.raises(CriticDataError, match="cannot read text.mp4: not a video"):
        sample_frames_timed(tmp_path / "text.mp4", 8, (56, 56), timed=False)


def test_patchify_matches_transformers_layout_and_pads_time():
    geometry = VisionGeometry(2, 2, 2)
    frames = np.arange(3 * 4 * 4 * 3, dtype=np.uint8).reshape(3, 4, 4, 3)
    patches, grid = patchify(frames, geometry, mean=(0, 0, 0), std=(1 / 255,) * 3)
    assert grid == (2, 2, 2) and patches.shape == (8, 3 * 2 * 2 * 2)
    # first patch: channel-major, then time, then the 2x2 pixels of the top-left patch
    expected = [frames[t, y, x, c] for c in range(3) for t in range(2) for y in range(2) for x in range(2)]
    assert patches[0].round().int().tolist() == [int(v) for v in expected]
    # the last frame is repeated to fill the temporal patch
    assert patches[4].reshape(3, 2, 2, 2)[:, 0].tolist() == patches[4].reshape(3, 2, 2, 2)[:, 1].tolist()
