"""Job lifecycle: create (deduplicated), start, report progress, heartbeat, finish, cancel, retry, run.

This module is a leaf: it knows no job kind, no Celery task and no retrain loop. What varies is
registered with it, the way the data side takes listeners:
- every kind (`JobKind`: its queue, how its params are checked, what runs it, and whom to wake) with
  `job_kind_register`; the table of kinds is `alignment/jobkinds.py`, loaded by the app's ready();
- how a job reaches a worker, with `job_dispatcher_set` (the Celery task, set in ready()).

A kind's `run` gets the job and a `report` callable and returns a result dict. Status changes happen
under a row lock so a redelivered task never runs a finished job twice.
"""
import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from lift.api_errors import ApplicationError, Conflict

from ..models import Job

LOG_TAIL_CHARS = 8000
REPORT_INTERVAL_S = 0.5
GPU, CPU = "gpu", "cpu"


@dataclass(frozen=True)
class JobKind:
    name: str
    queue: str
    validate: Callable[..., dict]  # (params=) -> canonical params, or ApplicationError (a 4xx) before any row
    run: Callable[..., dict]  # (job=, report=) -> result
    description: str = ""
    # Called with the job's id after commit when something it waits on changed (a child job finished,
    # a cancel was asked), and instead of the plain re-queue on retry. The retrain loop uses both.
    wake: Callable[[int], None] | None = None
    retry: Callable[[Job], Job] | None = None
    # What each parameter means, for the API schema: {"steps": "...", "settings.lr": "..."} (dotted: nested).
    params_help: Callable[[], dict[str, str]] | None = None


_KINDS: dict[str, JobKind] = {}
_DISPATCH: list[Callable[[Job], None]] = []


def job_kind_register(kind: JobKind) -> JobKind:
    _KINDS[kind.name] = kind
    return kind


def job_kind_get(name: str) -> JobKind:
    if name not in _KINDS:
        raise ApplicationError(
            f"Unknown job kind {name!r}; available: {', '.join(sorted(_KINDS))}.", code="unknown_job_kind",
            fields={"kind": "unknown"},
        )
    return _KINDS[name]


def job_kinds() -> list[JobKind]:
    return sorted(_KINDS.values(), key=lambda kind: kind.name)


def job_dispatcher_set(send: Callable[[Job], None]) -> None:
    """How a queued job reaches a worker (the app registers its Celery task)."""
    _DISPATCH[:] = [send]


class JobCancelled(Exception):
    """Raised inside a handler at its next report after a cancel was requested."""


class JobWaiting(Exception):
    """Raised by a handler whose job goes on elsewhere (a loop waiting for its stage): it stays running."""


def worker_name() -> str:
    # Host and process: several workers share a host, and the reaper's log should say which one went silent.
    return f"{socket.gethostname()}:{os.getpid()}"


def _dedupe_key(kind: str, params: dict) -> str:
    return hashlib.sha256(json.dumps([kind, params], sort_keys=True).encode()).hexdigest()


def job_create(*, kind: str, params: dict, created_by=None, parent: Job | None = None,
               dispatch: bool = True) -> tuple[Job, bool]:
    """Validate and enqueue a job after commit; an identical unfinished job is returned instead.

    dispatch=False leaves it for the caller to run in the foreground (the `run_job` command).
    """
    spec = job_kind_get(kind)
    params = spec.validate(params=params)
    key = _dedupe_key(kind, params)
    with transaction.atomic():
        running = Job.objects.select_for_update().filter(dedupe_key=key, status__in=Job.UNFINISHED).first()
        if running is not None:
            return running, False
        try:
            with transaction.atomic():
                job = Job.objects.create(
                    kind=kind, params=params, dedupe_key=key, queue=spec.queue, created_by=created_by, parent=parent
                )
        except IntegrityError as exc:
            # An identical request got in between the look and the insert: the database's one unfinished
            # job per dedupe key made this insert wait for it, and its job is the answer. Another guard
            # (one retrain loop at a time) is a conflict.
            running = Job.objects.filter(dedupe_key=key, status__in=Job.UNFINISHED).first()
            if running is not None:
                return running, False
            raise Conflict(f"A {kind} job cannot start now: another one is unfinished.", code="job_conflict") from exc
        if dispatch:
            transaction.on_commit(lambda: job_dispatch(job=job))
    return job, True


def job_dispatch(*, job: Job) -> None:
    if not _DISPATCH:
        raise RuntimeError("No job dispatcher is registered (alignment's AppConfig.ready sets it).")
    _DISPATCH[0](job)


def job_start(*, job_id: int) -> Job | None:
    """Mark the job running; None when there is nothing to do (finished, or cancelled while queued)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status in Job.FINISHED:
            return None
        if job.cancel_requested:
            _finish(job, Job.Status.CANCELLED, error="Cancelled before it started.")
            return None
        job.status = Job.Status.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.heartbeat_at = timezone.now()
        job.attempts += 1
        job.worker = worker_name()
        job.save(update_fields=["status", "started_at", "heartbeat_at", "attempts", "worker"])
    return job


def _finish(job: Job, status: str, *, result=None, error: str = "") -> None:
    job.status = status
    job.finished_at = timezone.now()
    job.error = error[:5000]
    if result is not None:
        job.result = result
    if status == Job.Status.SUCCEEDED:
        job.progress = 1.0
    job.save(update_fields=["status", "finished_at", "error", "result", "progress"])
    if job.parent_id:  # a finished stage wakes its parent (a loop then starts the next stage or stops)
        _wake(job.parent_id)


def _wake(job_id: int) -> None:
    """After commit, the job's kind hears that something it waits on changed (if it listens)."""
    kind = Job.objects.filter(pk=job_id).values_list("kind", flat=True).first()
    wake = _KINDS[kind].wake if kind in _KINDS else None
    if wake is not None:
        transaction.on_commit(lambda: wake(job_id))


def job_finish(*, job_id: int, status: str, result: dict | None = None, error: str = "") -> Job:
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.status not in Job.FINISHED:
            _finish(job, status, result=result, error=error)
    return job


def job_cancel(*, job: Job) -> Job:
    """Queued jobs stop at once; running ones stop at their next progress report."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.status in Job.FINISHED:
            raise Conflict(f"Job {job.pk} already {job.status}.", code="job_finished")
        job.cancel_requested = True
        job.save(update_fields=["cancel_requested"])
        if job.status == Job.Status.QUEUED:
            _finish(job, Job.Status.CANCELLED, error="Cancelled before it started.")
    for stage in job.stages.exclude(status__in=Job.FINISHED):
        job_cancel(job=stage)
    _wake(job.pk)  # a job waiting between stages would otherwise not notice the cancel
    return job


@dataclass
class ProgressReporter:
    """What a handler calls to report; writes are throttled, and a cancel request surfaces here."""

    job_id: int
    _last_write: float = 0.0
    _pending_log: str = ""

    def __call__(self, fraction: float | None = None, phase: str | None = None, log: str | None = None,
                 metrics: dict | None = None, force: bool = False) -> None:
        if log:
            self._pending_log += log.rstrip("\n") + "\n"
        now = time.monotonic()
        if not force and metrics is None and now - self._last_write < REPORT_INTERVAL_S:
            return
        self._last_write = now
        with transaction.atomic():
            job = Job.objects.select_for_update().get(pk=self.job_id)
            if fraction is not None:
                job.progress = min(max(float(fraction), 0.0), 1.0)
            if phase is not None:
                job.phase = phase[:100]
            if self._pending_log:
                job.log_tail = (job.log_tail + self._pending_log)[-LOG_TAIL_CHARS:]
                self._pending_log = ""
            if metrics:
                job.metrics = _merge_metrics(job.metrics, metrics)
            job.heartbeat_at = timezone.now()
            job.save(update_fields=["progress", "phase", "log_tail", "metrics", "heartbeat_at"])
            cancelled = job.cancel_requested
        if cancelled:
            raise JobCancelled()


def _merge_metrics(current: dict, new: dict) -> dict:
    """Scalars replace; values under `curves` are appended (loss and reward curves grow as the job runs)."""
    merged = dict(current)
    for key, value in new.items():
        if key == "curves":
            curves = dict(merged.get("curves", {}))
            for name, points in value.items():
                curves[name] = list(curves.get(name, [])) + list(points)
            merged["curves"] = curves
        else:
            merged[key] = value
    return merged


def job_artifacts_set(*, job: Job, artifacts: list[dict]) -> None:
    """What the job made so far (`{name, path, kind}` each), replacing the list: a re-run lists it afresh."""
    Job.objects.filter(pk=job.pk).update(artifacts=artifacts)


def job_retry(*, job: Job) -> Job:
    """Queue a failed or cancelled job again under the same id, so it resumes from its own checkpoints and
    keyed outputs instead of starting over. A kind may retry its own way (a loop continues from its
    failed stage)."""
    kind = job_kind_get(job.kind)
    if kind.retry is not None:
        return kind.retry(job)
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.status not in (Job.Status.FAILED, Job.Status.CANCELLED):
            raise Conflict(f"Job {job.pk} is {locked.status}; only a failed or cancelled job can be retried.",
                           code="job_not_retryable")
        return job_requeue(job_id=job.pk, note="retried by request")


def _log_line(job: Job, note: str) -> str:
    return (job.log_tail + f"[{timezone.now():%Y-%m-%d %H:%M:%S}] {note}\n")[-LOG_TAIL_CHARS:]


def job_resend(*, job_id: int, note: str) -> Job | None:
    """Send a queued job's message again (its first was lost); heartbeat_at marks when, so the caller
    can tell a job just sent from one forgotten. None when it is no longer queued."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id, status=Job.Status.QUEUED).first()
        if job is None:
            return None
        job.heartbeat_at = timezone.now()
        job.log_tail = _log_line(job, note)
        job.save(update_fields=["heartbeat_at", "log_tail"])
        transaction.on_commit(lambda: job_dispatch(job=job))
    return job


def job_requeue(*, job_id: int, note: str) -> Job:
    """Back to queued (inside the caller's transaction), dispatched after commit; attempts keep counting."""
    job = Job.objects.select_for_update().get(pk=job_id)
    job.status = Job.Status.QUEUED
    job.cancel_requested = False
    job.error = ""
    job.finished_at = None
    job.worker = ""
    job.log_tail = _log_line(job, note)
    try:
        with transaction.atomic():
            job.save(update_fields=["status", "cancel_requested", "error", "finished_at", "worker", "log_tail"])
    except IntegrityError as exc:  # one unfinished job per dedupe key
        raise Conflict("An identical job is already queued or running.", code="job_duplicate") from exc
    transaction.on_commit(lambda: job_dispatch(job=job))
    return job


def heartbeat_seconds() -> float:
    return float(settings.LIFT["HEARTBEAT_SECONDS"])


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


def job_run(*, job_id: int) -> Job | None:
    """Run a job to its end in this process (the Celery task and `run_job` both call this).

    A refusal (ApplicationError) fails the job with its message. Any other exception fails it with the
    error too and is raised again, so the caller sees the crash and no row is left running for the
    reaper to hand to another worker. (Should the database itself be gone, the row stays running and
    the task's retry or the reaper takes it up.)
    """
    job = job_start(job_id=job_id)
    if job is None:
        return None
    report = ProgressReporter(job_id=job.pk)
    spec = job_kind_get(job.kind)
    try:
        with Heartbeat(job_id=job.pk):  # a long step (model load, a big training step) still says "alive"
            result = spec.run(job=job, report=report)
    except JobWaiting:
        return job
    except JobCancelled:
        return job_finish(job_id=job.pk, status=Job.Status.CANCELLED, error="Cancelled by request.")
    except ApplicationError as exc:
        return job_finish(job_id=job.pk, status=Job.Status.FAILED, error=exc.message)
    except Exception as exc:
        _fail_after_crash(job.pk, exc)
        raise
    report(fraction=1.0, phase="done", force=True)
    return job_finish(job_id=job.pk, status=Job.Status.SUCCEEDED, result=result or {})


def _fail_after_crash(job_id: int, exc: Exception) -> None:
    try:
        job_finish(job_id=job_id, status=Job.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
    except DatabaseError:  # the database is gone too: the caller's exception says more than this one
        pass
