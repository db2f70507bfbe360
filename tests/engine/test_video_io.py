import numpy as np
import pytest

from alignment.engine.video_io import (
    VideoProbeError,
    check_ingestable,
    encode_video,
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
