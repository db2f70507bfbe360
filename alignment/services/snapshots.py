"""The `snapshot` job kind (cpu queue): builds a numbered LiFT-HRA snapshot through the data side's export
service, reporting progress to the job row. A snapshot request (annotation/snapshots/services.py) starts
the job through `snapshot_job_start`, which this side registers there."""
import threading

from django.db import connection

from annotation.snapshots.services import snapshot_build, snapshot_create, snapshot_for_job

from ..models import Job
from .jobs import job_create


def snapshot_job_start(*, params: dict, created_by) -> tuple[int, bool]:
    """(job id, created): an identical unfinished request finds its job (job_create deduplicates)."""
    job, created = job_create(kind=Job.Kind.SNAPSHOT, params=params, created_by=created_by)
    return job.pk, created


def _reporter_on_own_connection(report):
    """The export reads inside one long REPEATABLE READ transaction; progress written on that connection
    would stay invisible until it ends. Each report runs on a short-lived thread with its own connection,
    so progress (and a cancel request) travel while the export is still reading."""

    def forward(**kwargs):
        outcome = {}

        def target():
            try:
                report(**kwargs)
            except BaseException as exc:  # JobCancelled surfaces in the caller
                outcome["error"] = exc
            finally:
                connection.close()

        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
        if "error" in outcome:
            raise outcome["error"]

    return forward


def snapshot_run(*, job: Job, report) -> dict:
    snapshot = snapshot_for_job(job_id=job.pk) or snapshot_create(params=job.params, created_by=job.created_by,
                                                                   job_id=job.pk)
    # Inside a caller's transaction (tests) another connection could not see the job row: report directly.
    forward = report if connection.in_atomic_block else _reporter_on_own_connection(report)
    snapshot = snapshot_build(snapshot=snapshot, report=forward)
    report(metrics={"annotations": snapshot.counts.get("annotations", 0)}, force=True)
    return {"snapshot_id": snapshot.pk, "number": snapshot.number, "archive": snapshot.archive_path,
            "counts": snapshot.counts}

