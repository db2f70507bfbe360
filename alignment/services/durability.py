"""Jobs outlive their workers: while a job runs, a heartbeat (`jobs.Heartbeat`) says it is alive; the
reaper here re-queues the job of a worker that went silent (killed, machine restarted), up to a cap of
attempts, and wakes retrain loops that were not woken.

A re-queued job runs again under the same id: generate skips the videos whose keys exist, training
resumes from the checkpoints in the job's folder, so nothing is made twice.
"""
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..loop.run import loops_wake_stale
from ..models import Job
from .jobs import job_finish, job_requeue, worker_name


def stale_after_seconds() -> float:
    return float(settings.LIFT["STALE_AFTER_SECONDS"])


def jobs_reap_stale(*, stale_after: float | None = None, max_attempts: int | None = None) -> dict:
    """Running jobs without a heartbeat for `stale_after` seconds: re-queued, or failed once they have
    used up `max_attempts`. Loops are not reaped here (they wait for their stages); they are woken."""
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
                job_finish(job_id=job.pk, status=Job.Status.FAILED,
                           error=f"Worker lost: {silent}; gave up after {job.attempts} attempts.")
                failed.append(job.pk)
            else:
                job_requeue(job_id=job.pk, note=f"re-queued by the reaper: {silent} (attempt {job.attempts})")
                requeued.append(job.pk)
    woken = loops_wake_stale(cutoff=cutoff)
    return {"requeued": requeued, "failed": failed, "loops_woken": woken, "reaper": worker_name()}
