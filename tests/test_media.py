"""Videos are served with Range support (seeking) and only to those entitled."""
import pytest

from tests.conftest import token_client

SIZE = 10_000


@pytest.fixture
def video_bytes(people, settings):
    video = people["items"][0].video
    path = settings.MEDIA_ROOT / video.file.name
    path.parent.mkdir(parents=True, exist_ok=True)
    data = bytes(i % 251 for i in range(SIZE))
    path.write_bytes(data)
    return f"/media/{video.file.name}", data


def _body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_whole_file_and_ranges(people, video_bytes):
    url, data = video_bytes
    client = token_client(people["annotator"])
    whole = client.get(url)
    assert whole.status_code == 200 and _body(whole) == data and whole["Accept-Ranges"] == "bytes"
    first = client.get(url, HTTP_RANGE="bytes=0-99")
    assert first.status_code == 206 and _body(first) == data[:100]
    assert first["Content-Range"] == f"bytes 0-99/{SIZE}" and first["Content-Length"] == "100"
    middle = client.get(url, HTTP_RANGE="bytes=5000-5999")
    assert _body(middle) == data[5000:6000] and middle["Content-Range"] == f"bytes 5000-5999/{SIZE}"
    open_ended = client.get(url, HTTP_RANGE="bytes=9990-")
    assert _body(open_ended) == data[9990:]
    suffix = client.get(url, HTTP_RANGE="bytes=-500")
    assert suffix.status_code == 206 and _body(suffix) == data[-500:]
    assert suffix["Content-Range"] == f"bytes {SIZE - 500}-{SIZE - 1}/{SIZE}"
    past_end = client.get(url, HTTP_RANGE="bytes=0-99999")
    assert _body(past_end) == data and past_end["Content-Range"] == f"bytes 0-{SIZE - 1}/{SIZE}"


def test_unsatisfiable_range_is_416(people, video_bytes):
    url, _ = video_bytes
    response = token_client(people["annotator"]).get(url, HTTP_RANGE=f"bytes={SIZE}-")
    assert response.status_code == 416 and response["Content-Range"] == f"bytes */{SIZE}"


@pytest.mark.parametrize("role, expected", [("outsider", 404), ("annotator", 200), ("reviewer", 200), ("admin", 200)])
def test_only_members_and_admins_get_the_bytes(people, video_bytes, role, expected):
    url, _ = video_bytes
    assert token_client(people[role]).get(url).status_code == expected


def test_anonymous_and_traversal(people, video_bytes, settings):
    url, _ = video_bytes
    assert token_client(None).get(url).status_code == 401
    (settings.MEDIA_ROOT.parent / "secret.txt").write_text("nope")
    admin = token_client(people["admin"])
    for path in ("/media/../secret.txt", "/media/videos/../../secret.txt", "/media/%2e%2e/secret.txt"):
        assert admin.get(path).status_code == 404
