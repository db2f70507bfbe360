"""The `snapshot` job kind (cpu queue): builds a numbered LiFT-HRA snapshot through the annotation
export service, reporting progress to the job row."""
import threading

from django.db import connection

from ..jobkinds import CPU, JobKind, register


def validate(params: dict) -> dict:
    from annotation.snapshots.services import snapshot_params_clean

    return snapshot_params_clean(params=params)


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


def run(*, job, report) -> dict:
    from annotation.snapshots.services import snapshot_build, snapshot_create, snapshot_for_job

    snapshot = snapshot_for_job(job_id=job.pk) or snapshot_create(params=job.params, created_by=job.created_by,
                                                                   job_id=job.pk)
    # Inside a caller's transaction (tests) another connection could not see the job row: report directly.
    forward = report if connection.in_atomic_block else _reporter_on_own_connection(report)
    snapshot = snapshot_build(snapshot=snapshot, report=forward)
    report(metrics={"annotations": snapshot.counts.get("annotations", 0)}, force=True)
    return {"snapshot_id": snapshot.pk, "number": snapshot.number, "archive": snapshot.archive_path,
            "counts": snapshot.counts}


KIND = register(JobKind(name="snapshot", queue=CPU, validate=validate, run=run,
                        description="Numbered, immutable LiFT-HRA snapshot of annotations (parquet, jsonl, zip)."))
