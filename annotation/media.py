"""Protected media with HTTP Range support, so browsers can seek in videos.

Only admins and members of a campaign containing the video get the bytes. In production the
bytes can be handed to nginx (X-Accel-Redirect) or served by S3 signed URLs instead.
"""
import mimetypes
import re
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_http_methods

from lift.api_errors import error_body

from .selectors import video_for_media_path

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 256 * 1024


class RangeNotSatisfiable(Exception):
    pass


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive for a single byte range, None for 'whole file'.

    Multi-range requests are answered with the first range only (browsers ask for one).
    """
    if not header:
        return None
    match = _RANGE.match(header.split(",")[0].strip())
    if not match:
        return None  # a malformed Range header is ignored, as RFC 9110 allows
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # suffix: the last N bytes
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiable
        return max(size - length, 0), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable
    return start, min(end, size - 1)


def _file_chunks(path: Path, start: int, length: int):
    with open(path, "rb") as handle:
        handle.seek(start)
        while length > 0:
            data = handle.read(min(CHUNK, length))
            if not data:
                break
            length -= len(data)
            yield data


def _safe_media_path(relative: str) -> Path | None:
    root = Path(settings.MEDIA_ROOT).resolve()
    candidate = (root / relative).resolve()
    return candidate if candidate.is_relative_to(root) else None


@require_http_methods(["GET", "HEAD"])
def protected_media(request, path: str):
    user = request.user
    if not user.is_authenticated:
        # Token-authenticated scripts reach media through the API's URLs; browsers carry the session.
        from rest_framework.authentication import TokenAuthentication

        try:
            authenticated = TokenAuthentication().authenticate(request)
        except Exception:
            authenticated = None
        if authenticated is None:
            return JsonResponse(error_body("Sign in to see this file.", "not_authenticated"), status=401)
        user = authenticated[0]
    absolute = _safe_media_path(path)
    if absolute is None or not absolute.is_file() or video_for_media_path(path=path, user=user) is None:
        return JsonResponse(error_body("Not found.", "not_found"), status=404)

    content_type = mimetypes.guess_type(absolute.name)[0] or "application/octet-stream"
    if settings.MEDIA_DELIVERY == "nginx":
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = settings.MEDIA_ACCEL_PREFIX + path
        return response

    size = absolute.stat().st_size
    try:
        byte_range = parse_range(request.headers.get("Range", ""), size)
    except RangeNotSatisfiable:
        response = JsonResponse(error_body("Requested range not satisfiable.", "range_not_satisfiable"), status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    if byte_range is None:
        response = FileResponse(open(absolute, "rb"), content_type=content_type)
    else:
        start, end = byte_range
        length = end - start + 1
        body = [] if request.method == "HEAD" else _file_chunks(absolute, start, length)
        response = StreamingHttpResponse(body, status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    return response
