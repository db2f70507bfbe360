"""Ingest of outside videos: refused with the reason for every bad file, nothing partial left behind."""
import numpy as np
import pytest

from alignment.engine.video_io import encode_video
from annotation.models import Video
from tests.conftest import token_client
from tests.factories import UserFactory


def _video(path, frames=8, size=32):
    encode_video(np.full((frames, size, size, 3), 128, dtype=np.uint8), path, fps=8)
    return path


def _stored_files(settings):
    return sorted(p.name for p in settings.MEDIA_ROOT.rglob("*") if p.is_file())


@pytest.fixture
def admin_client(db):
    return token_client(UserFactory(roles=["admin"]))


def test_upload_is_transcoded_stored_and_deduplicated(admin_client, tmp_path, settings):
    path = _video(tmp_path / "clip.mp4")
    with open(path, "rb") as handle:
        response = admin_client.post("/api/videos/", {"file": handle, "prompt": "a red circle moving left"})
    assert response.status_code == 201, response.content
    video = Video.objects.get(pk=response.data["id"])
    assert video.source == "uploaded" and video.frames == 8 and video.prompt.text == "a red circle moving left"
    with open(path, "rb") as handle:
        again = admin_client.post("/api/videos/", {"file": handle})
    assert again.data["id"] == video.pk and Video.objects.count() == 1


@pytest.mark.parametrize("content, code, says", [
    (b"not a video at all", "video_", "bad.mp4"),
    (b"\x00\x00\x00\x18ftypmp42" + bytes(200), "video_", "bad.mp4"),
    (b"", "invalid", "empty"),
])
def test_bad_files_are_refused_with_a_reason(admin_client, tmp_path, settings, content, code, says):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    with open(bad, "rb") as handle:
        response = admin_client.post("/api/videos/", {"file": handle})
    assert response.status_code == 400 and response.json()["code"].startswith(code)
    assert says in response.json()["detail"]
    assert Video.objects.count() == 0 and _stored_files(settings) == []


def test_too_long_and_too_large_are_refused(admin_client, tmp_path, settings):
    path = _video(tmp_path / "long.mp4", frames=40)
    settings.LIFT = {**settings.LIFT, "MAX_VIDEO_SECONDS": 2.0}
    with open(path, "rb") as handle:
        assert admin_client.post("/api/videos/", {"file": handle}).json()["code"] == "video_too_long"
    settings.LIFT = {**settings.LIFT, "MAX_VIDEO_SECONDS": 100, "MAX_UPLOAD_BYTES": 100}
    with open(path, "rb") as handle:
        assert admin_client.post("/api/videos/", {"file": handle}).json()["code"] == "video_too_large"
    assert Video.objects.count() == 0


def test_a_folder_with_one_bad_file_imports_nothing(db, tmp_path, settings):
    from alignment.services.ingest import videos_ingest_folder
    from lift.api_errors import ApplicationError

    _video(tmp_path / "a.mp4")
    _video(tmp_path / "b.mp4", size=48)
    (tmp_path / "c.mp4").write_text("broken")
    with pytest.raises(ApplicationError) as refused:
        videos_ingest_folder(folder=tmp_path)
    assert "c.mp4" in refused.value.message
    assert Video.objects.count() == 0 and _stored_files(settings) == []
    (tmp_path / "c.mp4").unlink()
    assert len(videos_ingest_folder(folder=tmp_path, manifest={"a.mp4": "one blue square spinning on sand", "b.mp4": ""})) == 2


def test_annotators_cannot_upload(db, tmp_path):
    path = _video(tmp_path / "clip.mp4")
    with open(path, "rb") as handle:
        assert token_client(UserFactory(roles=["annotator"])).post("/api/videos/", {"file": handle}).status_code == 403
