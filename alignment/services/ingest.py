"""Ingest of outside videos: each file checked with ffprobe, transcoded to the platform's format,
stored once. A refused file leaves nothing behind."""
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from annotation.models import Prompt, Video
from annotation.services.prompts import prompt_create, prompt_normalize
from annotation.services.videos import video_create
from lift.api_errors import ApplicationError


def _prompt_for(text: str) -> Prompt | None:
    if not text.strip():
        return None
    return Prompt.objects.filter(normalized=prompt_normalize(text)).first() or prompt_create(text=text, source="ingest")


def video_ingest(*, path: Path, prompt_text: str = "", original_name: str = "") -> Video:
    """Check, transcode and store one video file; ApplicationError with the reason when refused."""
    from ..engine.video_io import VideoProbeError, check_ingestable, sha256_file, transcode_to_platform, write_poster

    name = original_name or path.name
    limits = settings.LIFT
    try:
        check_ingestable(path, max_seconds=limits["MAX_VIDEO_SECONDS"], max_bytes=limits["MAX_UPLOAD_BYTES"])
        with tempfile.TemporaryDirectory() as tmp:
            platform_copy, poster = Path(tmp) / "video.mp4", Path(tmp) / "poster.jpg"
            info = transcode_to_platform(path, platform_copy)
            write_poster(platform_copy, poster)
            sha = sha256_file(platform_copy)
            existing = Video.objects.filter(sha256=sha, source=Video.Source.UPLOADED).first()
            if existing is not None:  # the same content ingested twice is one video
                return existing
            stored = []
            try:
                with transaction.atomic():
                    for local, target in ((platform_copy, f"videos/uploaded/{sha}.mp4"), (poster, f"posters/uploaded/{sha}.jpg")):
                        with open(local, "rb") as handle:
                            stored.append(default_storage.save(target, File(handle)))
                    return video_create(file_name=stored[0], poster_name=stored[1], prompt=_prompt_for(prompt_text),
                                        source=Video.Source.UPLOADED, generator="upload", info=info.to_dict(),
                                        sha256=sha, params={"original_name": name})[0]
            except Exception:
                for stored_name in stored:
                    default_storage.delete(stored_name)
                raise
    except VideoProbeError as exc:
        status_code = 413 if exc.code == "too_large" else 400
        raise ApplicationError(f"{name}: {exc.reason}", code=f"video_{exc.code}", fields={"file": exc.reason},
                               status_code=status_code) from exc


def videos_ingest_folder(*, folder: Path, manifest: dict[str, str] | None = None) -> list[Video]:
    """Every video in a folder (or the files a manifest names, with their prompts); all or nothing."""
    files = sorted(manifest) if manifest is not None else sorted(p.name for p in folder.iterdir() if p.is_file())
    missing = [name for name in files if not (folder / name).is_file()]
    if missing:
        raise ApplicationError(f"Files named in the manifest are missing: {missing[:5]}", code="missing_files")
    created: list[Video] = []
    try:
        for name in files:
            created.append(video_ingest(path=folder / name, prompt_text=(manifest or {}).get(name, ""), original_name=name))
    except ApplicationError:
        for video in created:  # nothing partial: undo the ones already stored in this batch
            if video.campaign_items.exists():
                continue
            default_storage.delete(video.file.name)
            default_storage.delete(video.poster.name)
            video.delete()
        raise
    return created
