"""Thin Celery tasks: ids in, one service call. Job state lives in the Job row.

`job_send` and `loop_wake_send` are how services.jobs and the retrain loop reach a worker; the app's
ready() registers them, so neither imports this module."""
from celery import shared_task
from celery.utils.log import get_task_logger

logger = get_task_logger(__name__)


def _mark_failed(self, exc, task_id, args, kwargs, einfo):
    from .models import Job
    from .services.jobs import job_finish

    job_finish(job_id=args[0], status=Job.Status.FAILED, error=f"{type(exc).__name__}: {exc}")


def job_send(job) -> None:
    run_job.apply_async(args=[job.pk], queue=job.queue)


def loop_wake_send(loop_id: int) -> None:
    advance_loop.apply_async(args=[loop_id], queue="cpu")


@shared_task(
    name="alignment.run_job",
    bind=True,
    acks_late=True,  # every job kind is idempotent: a redelivered job skips what is done
    reject_on_worker_lost=True,
    max_retries=2,
    default_retry_delay=10,
    on_failure=_mark_failed,
)
def run_job(self, job_id: int) -> None:
    from django.db import OperationalError

    from .services.jobs import job_run

    try:
        job_run(job_id=job_id)
    except OperationalError as exc:  # the database blinked: try again with back-off
        raise self.retry(exc=exc, countdown=10 * (self.request.retries + 1))


@shared_task(name="alignment.advance_loop", bind=True, acks_late=True, max_retries=3, default_retry_delay=10,
             on_failure=_mark_failed)
def advance_loop(self, loop_id: int) -> None:
    """A loop's stage finished (or a cancel or retry came): start the next stage or end the loop."""
    from django.db import OperationalError

    from .loop.run import loop_advance

    try:
        loop_advance(loop_id=loop_id)
    except OperationalError as exc:
        raise self.retry(exc=exc, countdown=10 * (self.request.retries + 1))


@shared_task(name="alignment.retrain_check")
def retrain_check() -> None:
    """Beat: start a retrain loop when the policy's threshold of new ratings is reached."""
    from .loop.policy import policy_check

    policy_check()


@shared_task(name="alignment.reap_stale_jobs")
def reap_stale_jobs() -> dict:
    """Beat: re-queue jobs whose worker stopped sending heartbeats; wake loops that were not woken."""
    from .services.durability import jobs_reap_stale

    return jobs_reap_stale()
