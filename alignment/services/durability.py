"""Jobs outlive their workers: a heartbeat while a job runs, and a reaper that re-queues the job of a
worker that went silent (killed, machine restarted), up to a cap of attempts.

A re-queued job runs again under the same id: generate skips the videos whose keys exist, training
resumes from the checkpoints in the job's folder, so nothing is made twice.
"""
import threading

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ..models import Job
from .jobs import job_requeue, _finish, worker_name


def heartbeat_seconds() -> float:
    return float(settings.LIFT["HEARTBEAT_SECONDS"])


def stale_after_seconds() -> float:
    return float(settings.LIFT["STALE_AFTER_SECONDS"])


class Heartbeat:
    """Writes heartbeat_at every few seconds from a thread of its own, so a step that runs for minutes
    without reporting (loading a model, one long training step) does not look like a dead worker."""

    def __init__(self, *, job_id: int, interval: float | None = None):
        self.job_id = job_id
        self.interval = interval if interval is not None else heartbeat_seconds()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self):
        # Inside a test's open transaction another connection could not see the row: nothing to beat.
        if not connection.in_atomic_block:
            self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{self.job_id}", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return False

    def _beat(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                Job.objects.filter(pk=self.job_id, status=Job.Status.RUNNING).update(heartbeat_at=timezone.now())
        finally:
            connection.close()


def jobs_reap_stale(*, stale_after: float | None = None, max_attempts: int | None = None) -> dict:
    """Running jobs without a heartbeat for `stale_after` seconds: re-queued, or failed once they have
    used up `max_attempts`. Loops are not reaped here (they wait for their stages); they are woken."""
    from .loop import loops_wake_stale

    stale_after = stale_after if stale_after is not None else stale_after_seconds()
    max_attempts = max_attempts if max_attempts is not None else int(settings.LIFT["JOB_MAX_ATTEMPTS"])
    cutoff = timezone.now() - timezone.timedelta(seconds=stale_after)
    requeued, failed = [], []
    # A stage another job runs inline (align's generate stages) is left to its parent: re-run, the parent
    # picks it up again; queued on its own as well, it would run twice at once.
    inline_stage = Q(parent__isnull=False) & ~Q(parent__kind=Job.Kind.RETRAIN_LOOP)
    candidates = (Job.objects.filter(status=Job.Status.RUNNING, heartbeat_at__lt=cutoff)
                  .exclude(kind=Job.Kind.RETRAIN_LOOP).exclude(inline_stage).values_list("pk", flat=True))
    for job_id in list(candidates):
        with transaction.atomic():
            job = (Job.objects.select_for_update(skip_locked=True)
                   .filter(pk=job_id, status=Job.Status.RUNNING, heartbeat_at__lt=cutoff).first())
            if job is None:  # it reported meanwhile, or another reaper has it
                continue
            silent = f"no heartbeat from worker {job.worker or '?'} since {job.heartbeat_at:%H:%M:%S}"
            if job.attempts >= max_attempts:
                _finish(job, Job.Status.FAILED, error=f"Worker lost: {silent}; gave up after {job.attempts} attempts.")
                failed.append(job.pk)
            else:
                job_requeue(job_id=job.pk, note=f"re-queued by the reaper: {silent} (attempt {job.attempts})")
                requeued.append(job.pk)
    woken = loops_wake_stale(cutoff=cutoff)
    return {"requeued": requeued, "failed": failed, "loops_woken": woken, "reaper": worker_name()}
