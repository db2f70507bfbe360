import numpy as np
import pytest

from alignment.engine.video_io import (
    VideoProbeError,
    check_ingestable,
    encode_video,
    frame_rate_indices,
    probe_video,
    read_frames,
    sample_frame_indices,
    sha256_file,
    transcode_to_platform,
    write_poster,
)


def ramp_frames(count=9, height=32, width=48):
    """Frames whose brightness encodes their index, so sampling can be checked after lossy coding."""
    levels = np.linspace(0, 240, count).astype(np.uint8)
    return np.broadcast_to(levels[:, None, None, None], (count, height, width, 3)).copy()


@pytest.fixture(scope="module")
def ramp_video(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "ramp.mp4"
    encode_video(ramp_frames(), path, fps=8)
    return path


def test_encode_writes_platform_format(ramp_video):
    info = probe_video(ramp_video)
    assert (info.frames, info.width, info.height, info.fps) == (9, 48, 32, 8.0)
    assert (info.codec, info.pix_fmt) == ("h264", "yuv420p")
    assert info.duration == pytest.approx(9 / 8, abs=0.01)


def test_faststart_puts_moov_before_mdat(ramp_video):
    data = ramp_video.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")


def test_same_frames_give_same_bytes(tmp_path):
    frames = ramp_frames()
    encode_video(frames, tmp_path / "a.mp4", fps=8)
    encode_video(frames, tmp_path / "b.mp4", fps=8)
    assert sha256_file(tmp_path / "a.mp4") == sha256_file(tmp_path / "b.mp4")


def test_odd_sizes_are_padded_to_even(tmp_path):
    info = encode_video(ramp_frames(height=31, width=45), tmp_path / "odd.mp4", fps=8)
    assert (info.height, info.width) == (32, 46)


@pytest.mark.parametrize("count, height, width, fps", [(1, 32, 32, 8), (9, 48, 48, 8), (13, 33, 47, 23.976),
                                                      (16, 64, 64, 30), (7, 20, 20, 29.97), (5, 16, 16, 12.5)])
def test_encode_reports_what_a_probe_of_the_file_reads(tmp_path, count, height, width, fps):
    # encode_video describes its output without probing it: the description must be the probe's, to the digit.
    frames = np.random.default_rng(count).integers(0, 256, (count, height, width, 3), dtype=np.uint8)
    assert encode_video(frames, tmp_path / "v.mp4", fps=fps) == probe_video(tmp_path / "v.mp4")


def test_encode_refuses_wrong_dtype(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        encode_video(np.zeros((2, 8, 8, 3), np.float32), tmp_path / "x.mp4", fps=8)


def test_read_frames_decodes_all_and_resizes(ramp_video):
    assert read_frames(ramp_video).shape == (9, 32, 48, 3)
    assert read_frames(ramp_video, size=(16, 24)).shape == (9, 16, 24, 3)


def test_read_frames_samples_first_to_last(ramp_video):
    sampled = read_frames(ramp_video, num_frames=3)
    brightness = sampled.mean(axis=(1, 2, 3))
    assert brightness == pytest.approx([0, 120, 240], abs=4)


def test_read_frames_repeats_when_asked_for_more_than_exist(ramp_video):
    sampled = read_frames(ramp_video, num_frames=17)
    assert sampled.shape[0] == 17
    assert np.all(np.diff(sampled.mean(axis=(1, 2, 3))) >= -1)  # order kept, frames repeated


@pytest.mark.parametrize(
    "total, wanted, expected",
    [(9, 3, [0, 4, 8]), (3, 5, [0, 0, 1, 2, 2]), (1, 4, [0, 0, 0, 0]), (10, 1, [4]), (2, 2, [0, 1])],
)
def test_sample_frame_indices(total, wanted, expected):
    assert sample_frame_indices(total, wanted).tolist() == expected


def test_sample_frame_indices_refuses_empty():
    with pytest.raises(ValueError):
        sample_frame_indices(0, 4)


def test_poster_from_frames_and_from_file(tmp_path, ramp_video):
    from PIL import Image

    from_file = write_poster(ramp_video, tmp_path / "p1.jpg")
    from_frames = write_poster(ramp_frames(), tmp_path / "p2.jpg")
    for poster in (from_file, from_frames):
        image = Image.open(poster)
        assert image.format == "JPEG" and image.size == (48, 32)
        assert np.asarray(image).mean() == pytest.approx(120, abs=5)  # the middle frame of the ramp


def test_transcode_to_platform(tmp_path, ramp_video):
    info = transcode_to_platform(ramp_video, tmp_path / "t.mp4", fps=4)
    assert (info.codec, info.pix_fmt, info.fps) == ("h264", "yuv420p", 4.0)


@pytest.fixture
def text_as_mp4(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 10)
    return path


def test_probe_refuses_text_renamed_mp4(text_as_mp4):
    with pytest.raises(VideoProbeError) as refused:
        probe_video(text_as_mp4)
    assert refused.value.code == "not_a_video"
    assert str(text_as_mp4.parent) not in refused.value.reason


@pytest.mark.parametrize("size", [None, (16, 16)])
def test_read_frames_refuses_text_renamed_mp4_probed_or_not(text_as_mp4, size):
    # With a size given read_frames does not probe first; the refusal is the same, and names no server path.
    with pytest.raises(VideoProbeError) as refused:
        read_frames(text_as_mp4, num_frames=2, size=size)
    assert refused.value.code == "not_a_video"
    assert str(text_as_mp4.parent) not in refused.value.reason


def test_probe_refuses_still_image(tmp_path):
    poster = write_poster(ramp_frames(), tmp_path / "still.jpg")
    with pytest.raises(VideoProbeError, match="still image"):
        probe_video(poster)


def test_probe_refuses_audio_only(tmp_path):
    import ffmpeg

    path = tmp_path / "tone.m4a"
    ffmpeg.input("sine=frequency=440:duration=0.5", f="lavfi").output(str(path)).run(quiet=True)
    with pytest.raises(VideoProbeError) as refused:
        probe_video(path)
    assert refused.value.code == "no_video_stream"


@pytest.mark.parametrize(
    "case, limits, code",
    [
        ("text", dict(max_seconds=10, max_bytes=10**6), "not_a_video"),
        ("empty", dict(max_seconds=10, max_bytes=10**6), "empty"),
        ("missing", dict(max_seconds=10, max_bytes=10**6), "unreadable"),
        ("video", dict(max_seconds=0.5, max_bytes=10**6), "too_long"),
        ("video", dict(max_seconds=10, max_bytes=100), "too_large"),
    ],
)
def test_check_ingestable_refusals(tmp_path, text_as_mp4, ramp_video, case, limits, code):
    paths = {"text": text_as_mp4, "video": ramp_video, "missing": tmp_path / "gone.mp4"}
    if case == "empty":
        paths["empty"] = tmp_path / "empty.mp4"
        paths["empty"].touch()
    with pytest.raises(VideoProbeError) as refused:
        check_ingestable(paths[case], **limits)
    assert refused.value.code == code
    assert refused.value.reason


def test_check_ingestable_accepts_video(ramp_video):
    assert check_ingestable(ramp_video, max_seconds=10, max_bytes=10**6).frames == 9


def test_frame_rate_indices_keep_the_speed_of_motion():
    # 49 frames at 8 fps from a 24 fps, 10 s clip: every third frame, the 6 s window centred.
    indices = frame_rate_indices(240, 24.0, 49, 8.0)
    assert (np.diff(indices) == 3).all() and (indices[0], indices[-1]) == (47, 191)
    assert frame_rate_indices(49, 8.0, 49, 8.0).tolist() == list(range(49))  # a generated clip: every frame
    # Shorter than the window: spread over the whole clip (the only way to fill it).
    assert frame_rate_indices(20, 8.0, 49, 8.0).tolist() == sample_frame_indices(20, 49).tolist()


def test_read_frames_at_a_frame_rate(tmp_path):
    path = tmp_path / "fast.mp4"
    encode_video(ramp_frames(count=24), path, fps=24)  # one second at 24 fps
    sampled = read_frames(path, num_frames=3, fps=8)  # 3 frames, 1/8 s apart, centred: indices 8, 11, 14
    expected = ramp_frames(count=24)[[8, 11, 14], 0, 0, 0].astype(int)
    assert np.abs(sampled[:, 16, 24, 0].astype(int) - expected).max() <= 3


def test_read_frames_crop_keeps_the_aspect(tmp_path):
    """A wide clip (left third red, middle green, right third blue) cropped to a square keeps the middle."""
    frames = np.zeros((9, 32, 96, 3), np.uint8)
    frames[:, :, :32, 0] = frames[:, :, 32:64, 1] = frames[:, :, 64:, 2] = 255
    path = tmp_path / "wide.mp4"
    encode_video(frames, path, fps=8)
    cropped = read_frames(path, size=(16, 16), crop=True)
    assert cropped.shape == (9, 16, 16, 3)
    centre = cropped[:, 4:12, 4:12].reshape(-1, 3).mean(axis=0)
    assert centre[1] > 200 and centre[0] < 40 and centre[2] < 40  # green only: no stretch, no sides
    stretched = read_frames(path, size=(16, 16))
    assert stretched[:, 8, 1, 0].mean() > 200  # the old stretch squeezes the red side in


def test_clips_come_back_as_the_platform_stores_them_many_per_run(tmp_path):
    from alignment.engine.synthetic import sample_defects, sample_prompt
    from alignment.engine.synthetic.render import render
    from alignment.engine.video_io import as_stored, encode_video, read_frames

    rng = np.random.default_rng(0)
    clips = [render(sample_prompt(rng), sample_defects(rng, 0.4), frames=9, size=(48, 48), seed=i) for i in range(5)]
    stored = as_stored(clips, fps=8, per_run=2)  # three ffmpeg runs: 2, 2 and 1 clips
    assert [s.shape for s in stored] == [c.shape for c in clips] and stored[0].dtype == np.uint8
    for index, (clip, batched) in enumerate(zip(clips, stored)):
        encode_video(clip, tmp_path / f"{index}.mp4", fps=8)
        alone = read_frames(tmp_path / f"{index}.mp4")
        codec = np.abs(alone.astype(int) - clip).mean()
        assert codec > 0.5  # the codec changed the frames
        assert np.abs(batched.astype(int) - alone).mean() < codec  # closer to a stored clip than to the raw one
    with pytest.raises(ValueError, match="one shape"):
        as_stored([clips[0], clips[1][:, :32]], fps=8)
