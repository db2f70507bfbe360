"""Snapshot rows: create (numbered), build (export + archive, idempotent), and read."""
from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from lift.api_errors import Conflict, NotFound

from ..models import Snapshot
from .export import QUESTION_STYLES, filters_clean, snapshot_export
from .writers import zip_folder

SNAPSHOT_OPTIONS = ("seed", "include_videos", "question_style", "videoalign_csv")
# A snapshot is built by a `snapshot` job, and jobs are the model side's: it registers how to start one
# (alignment's AppConfig.ready) as starter(params=, created_by=) -> (job id, created), so the data side
# never imports the model side.
SNAPSHOT_JOB_STARTER: list[Callable] = []


def snapshots_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "snapshots"


def snapshot_params_validate(*, params: dict) -> dict:
    """Canonical job params: filters plus seed, include_videos, question_style and, when asked for,
    videoalign_csv (so equal requests deduplicate; left out when false, so earlier params stay equal)."""
    from lift.api_errors import ApplicationError

    params = dict(params or {})
    seed = params.pop("seed", 0)
    include_videos = params.pop("include_videos", False)
    question_style = params.pop("question_style", "schema")
    videoalign_csv = params.pop("videoalign_csv", False)
    if not isinstance(videoalign_csv, bool):
        raise ApplicationError("videoalign_csv must be true or false.", fields={"videoalign_csv": "invalid"})
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ApplicationError("seed must be a non-negative integer.", fields={"seed": "invalid"})
    if not isinstance(include_videos, bool):
        raise ApplicationError("include_videos must be true or false.", fields={"include_videos": "invalid"})
    if question_style not in QUESTION_STYLES:
        raise ApplicationError(f"question_style must be one of {', '.join(QUESTION_STYLES)}.",
                               fields={"question_style": "invalid"})
    filters = params.pop("filters", None)
    if filters is None:
        filters, params = params, {}
    if params:
        raise ApplicationError(f"Unknown snapshot params: {', '.join(sorted(params))}", fields={"params": sorted(params)})
    cleaned = {"filters": filters_clean(filters), "seed": seed, "include_videos": include_videos,
               "question_style": question_style}
    if videoalign_csv:
        cleaned["videoalign_csv"] = True
    return cleaned


def snapshot_create(*, params: dict, created_by=None, job_id: int | None = None) -> Snapshot:
    """A new numbered snapshot row (numbers never repeat; a lost race takes the next number)."""
    params = snapshot_params_validate(params=params)
    for _ in range(10):
        try:
            with transaction.atomic():
                number = (Snapshot.objects.aggregate(m=Max("number"))["m"] or 0) + 1
                return Snapshot.objects.create(number=number, filters=params, created_by=created_by, job_id=job_id)
        except IntegrityError:
            continue
    raise Conflict("Could not number the snapshot; try again.", code="snapshot_number_race")


def snapshot_request(*, params: dict, user) -> tuple[Snapshot, bool]:
    """A snapshot and the job that builds it, created together. An identical request while one is
    unfinished returns that snapshot; the job is dispatched only after both rows are committed."""
    if not SNAPSHOT_JOB_STARTER:
        raise RuntimeError("No snapshot job starter is registered (alignment's AppConfig.ready sets it).")
    with transaction.atomic():
        job_id, created = SNAPSHOT_JOB_STARTER[0](params=params, created_by=user)
        snapshot = snapshot_for_job(job_id=job_id)
        if snapshot is None:
            snapshot = snapshot_create(params=params, created_by=user, job_id=job_id)
            created = True
    return snapshot, created


def snapshot_build(*, snapshot: Snapshot, report=None, out_dir: Path | None = None) -> Snapshot:
    """Export into <MEDIA_ROOT>/snapshots/<number>/ and zip it. A finished snapshot is never rewritten."""
    snapshot.refresh_from_db()
    if snapshot.status == Snapshot.Status.READY and Path(snapshot.archive_path).exists():
        return snapshot
    folder = Path(out_dir) if out_dir else snapshots_root() / str(snapshot.number)
    archive = folder.parent / f"lift-hra-snapshot-{snapshot.number}.zip"
    Snapshot.objects.filter(pk=snapshot.pk).update(status=Snapshot.Status.RUNNING, error="")
    params = snapshot.filters
    try:
        manifest = snapshot_export(
            filters=params["filters"], out_dir=folder, seed=params.get("seed", 0),
            include_videos=params.get("include_videos", False), cut_max_id=snapshot.cut_max_id,
            question_style=params.get("question_style", "schema"),
            videoalign_csv=params.get("videoalign_csv", False),
            number=snapshot.number, report=report,
        )
        if report:
            report(fraction=0.98, phase="archive")
        zip_folder(folder, archive)
    except Exception as exc:
        Snapshot.objects.filter(pk=snapshot.pk).update(status=Snapshot.Status.FAILED, error=str(exc)[:5000])
        shutil.rmtree(folder, ignore_errors=True)
        raise
    Snapshot.objects.filter(pk=snapshot.pk).update(
        status=Snapshot.Status.READY, counts=manifest["counts"], manifest=manifest, cut_max_id=manifest["cut_max_id"],
        folder_path=str(folder), archive_path=str(archive), finished_at=timezone.now(),
    )
    snapshot.refresh_from_db()
    return snapshot


def snapshot_get(*, snapshot_id: int) -> Snapshot:
    snapshot = Snapshot.objects.filter(pk=snapshot_id).first()
    if snapshot is None:
        raise NotFound("Snapshot not found.")
    return snapshot


def snapshot_for_job(*, job_id: int) -> Snapshot | None:
    return Snapshot.objects.filter(job_id=job_id).order_by("id").first()


def snapshot_archive(*, snapshot: Snapshot) -> Path:
    """The archive to download, or a 409 while it is not ready."""
    if snapshot.status != Snapshot.Status.READY or not Path(snapshot.archive_path).exists():
        raise Conflict(f"Snapshot {snapshot.number} is {snapshot.status}, not ready to download.", code="not_ready")
    return Path(snapshot.archive_path)
