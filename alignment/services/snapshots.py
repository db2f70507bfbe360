"""Requesting a snapshot: a `snapshot` job and its numbered row, created together."""
from django.db import transaction

from annotation.models import Snapshot
from annotation.snapshots import services as snapshot_services

from .jobs import job_create


def snapshot_request(*, params: dict, user) -> tuple[Snapshot, bool]:
    """An identical request while one is unfinished returns that snapshot (job_create deduplicates on
    (kind, params)); the job is dispatched only after both rows are committed."""
    with transaction.atomic():
        job, created = job_create(kind="snapshot", params=params, created_by=user)
        snapshot = snapshot_services.snapshot_for_job(job_id=job.pk)
        if snapshot is None:
            snapshot = snapshot_services.snapshot_create(params=job.params, created_by=user, job_id=job.pk)
            created = True
    return snapshot, created
