"""How a retrain loop runs: a `retrain_loop` job whose stages are child jobs (parent = the loop), run one
after the other without holding a worker while they run.

`loop_advance` is the whole state machine: under a lock on the loop row it looks at the current stage's
child job and either waits, records its outcome and starts the next stage, or ends the loop. A finished
child wakes its loop (the kind's `wake`, called by services.jobs), and the reaper wakes loops that were
not woken (a lost message), so calling it twice is harmless. The stages' state lives in the loop's metrics:
`{"stages": [{"name", "kind", "status", "job", "outcome", "started_at", "finished_at", "retries"}], "context": {...}}`.
"""
import time

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from lift.api_errors import ApplicationError, Conflict

from ..models import Job
from ..services.jobs import (Heartbeat, JobWaiting, job_cancel, job_create, job_finish, job_requeue, job_resend,
                             job_run, job_start)
from .stages import stage_named

_DONE = "succeeded"
_WAKER: list = []  # how a loop_id reaches a worker to be advanced (the app registers its Celery task)


def loop_waker_set(send) -> None:
    _WAKER[:] = [send]


def _now() -> str:
    return timezone.now().isoformat()


def _initial_stages(params: dict) -> list[dict]:
    return [{"name": name, "kind": stage_named(name).job_kind(params) or "inline", "status": "pending", "job": None,
             "outcome": "", "started_at": None, "finished_at": None, "retries": 0} for name in params["stages"]]


def _step(loop: Job, entries: list[dict], context: dict, foreground: bool):
    """Walk the stages from the first unfinished one. Returns (child to run here or None, (status, error) or None)."""
    for entry in entries:
        if entry["status"] == _DONE:
            continue
        stage = stage_named(entry["name"])
        if entry["job"]:
            child = Job.objects.get(pk=entry["job"])
            entry["status"] = child.status
            if child.status == Job.Status.SUCCEEDED:
                try:
                    entry["outcome"], more = stage.read(child)
                except ApplicationError as exc:
                    entry.update(status="failed", outcome=exc.message, finished_at=_now())
                    return None, (Job.Status.FAILED, f"Stage {stage.name} failed: {exc.message}")
                entry["finished_at"] = _now()
                context.update(more)
                continue
            if child.status == Job.Status.FAILED:
                entry.update(outcome=child.error, finished_at=_now())
                return None, (Job.Status.FAILED, f"Stage {stage.name} failed: {child.error}")
            if child.status == Job.Status.CANCELLED:
                entry.update(outcome=child.error or "cancelled", finished_at=_now())
                return None, (Job.Status.CANCELLED, f"Cancelled during stage {stage.name}.")
            if loop.cancel_requested and not child.cancel_requested:
                job_cancel(job=child)
            return (child if foreground and child.status == Job.Status.QUEUED else None), None
        if loop.cancel_requested:
            return None, (Job.Status.CANCELLED, f"Cancelled by request before stage {stage.name}.")
        entry.update(started_at=_now(), outcome="")
        try:
            if stage.inline:
                entry["outcome"], more = stage.inline(loop.params, context, loop.created_by)
                entry.update(status=_DONE, finished_at=_now())
                context.update(more)
                continue
            child, _ = job_create(kind=stage.job_kind(loop.params), params=stage.build(loop.params, context),
                                  created_by=loop.created_by, parent=loop, dispatch=not foreground)
        except ApplicationError as exc:  # refused before any work: the reason is the stage's outcome
            entry.update(status="failed", outcome=exc.message, finished_at=_now())
            return None, (Job.Status.FAILED, f"Stage {stage.name} failed: {exc.message}")
        entry.update(job=child.pk, status=child.status)
        return (child if foreground else None), None
    return None, (Job.Status.SUCCEEDED, "")


def loop_advance(*, loop_id: int) -> Job | None:
    """Move the loop on as far as it can go now. Returns a child job for a foreground driver to run."""
    with transaction.atomic():
        loop = Job.objects.select_for_update().get(pk=loop_id)
        if loop.status != Job.Status.RUNNING:
            return None
        metrics = dict(loop.metrics)
        entries = metrics.get("stages") or _initial_stages(loop.params)
        context = dict(metrics.get("context", {}))
        to_run, ending = _step(loop, entries, context, foreground=bool(metrics.get("foreground")))
        done = sum(entry["status"] == _DONE for entry in entries)
        current = next((entry["name"] for entry in entries if entry["status"] != _DONE), "")
        loop.metrics = {**metrics, "stages": entries, "context": context, "current_stage": current}
        loop.progress = done / len(entries)
        loop.phase = f"stage {min(done + 1, len(entries))}/{len(entries)}: {current}" if current else "done"
        loop.heartbeat_at = timezone.now()
        if not metrics.get("foreground"):
            loop.worker = ""  # it holds no worker while its stage runs (the console lists busy workers)
        loop.save(update_fields=["metrics", "progress", "phase", "heartbeat_at", "worker"])
        if ending:
            status, error = ending
            job_finish(job_id=loop.pk, status=status, result=context, error=error)
    return to_run


def loop_wake(*, loop_id: int) -> None:
    """Ask a worker to advance the loop (after a stage finished, or a cancel); a foreground driver needs no help."""
    loop = Job.objects.filter(pk=loop_id, kind=Job.Kind.RETRAIN_LOOP, status=Job.Status.RUNNING).first()
    if loop is None or loop.metrics.get("foreground"):
        return
    if not _WAKER:
        raise RuntimeError("No loop waker is registered (alignment's AppConfig.ready sets it).")
    _WAKER[0](loop_id)


def loops_wake_stale(*, cutoff) -> list[int]:
    """Loops not advanced since `cutoff`. A running one: a wake-up may have been lost, or the foreground
    driver (`run_job`) died; advancing is idempotent, so it is simply woken (a dead driver's loop goes to
    the workers). A queued one: its first message was lost (a broker restart), so it is sent again; should
    the first still arrive, the loop just advances twice, as it holds no worker."""
    woken = []
    for loop in Job.objects.filter(kind=Job.Kind.RETRAIN_LOOP, status=Job.Status.RUNNING, heartbeat_at__lt=cutoff):
        if loop.metrics.get("foreground"):
            Job.objects.filter(pk=loop.pk).update(metrics={**loop.metrics, "foreground": False})
        transaction.on_commit(lambda loop_id=loop.pk: loop_wake(loop_id=loop_id))
        woken.append(loop.pk)
    unsent = (Job.objects.filter(kind=Job.Kind.RETRAIN_LOOP, status=Job.Status.QUEUED, created_at__lt=cutoff)
              .filter(Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=cutoff)))
    for loop in unsent:
        job_resend(job_id=loop.pk, note="sent again by the reaper: no worker took it up")
        woken.append(loop.pk)
    return woken


def loop_run(*, job: Job, report) -> dict:
    """The `retrain_loop` kind's run on a worker: start the first stage, then leave the worker free."""
    loop_advance(loop_id=job.pk)
    raise JobWaiting()


def loop_run_foreground(*, loop_id: int, poll_seconds: float = 1.0) -> Job:
    """Run the whole loop in this process, each stage too (the `run_job` command)."""
    loop = job_start(job_id=loop_id)
    if loop is None:
        return Job.objects.get(pk=loop_id)
    Job.objects.filter(pk=loop_id).update(metrics={**loop.metrics, "foreground": True})
    with Heartbeat(job_id=loop_id):
        while True:
            child = loop_advance(loop_id=loop_id)
            loop = Job.objects.get(pk=loop_id)
            if loop.status in Job.FINISHED:
                return loop
            if child is None:  # its stage runs elsewhere (a job it shares with another request): wait
                time.sleep(poll_seconds)
                continue
            try:
                job_run(job_id=child.pk)
            except Exception:  # the stage crashed: job_run failed it with the error, and the loop stops there
                continue


def loop_retry(*, loop: Job) -> Job:
    """Continue a failed or cancelled loop from the stage that stopped it; finished stages are kept.

    The stopped stage's own job is re-queued under its id, so it resumes from its checkpoints."""
    try:
        with transaction.atomic():
            loop = Job.objects.select_for_update().get(pk=loop.pk)
            if loop.status not in (Job.Status.FAILED, Job.Status.CANCELLED):
                raise Conflict(f"Loop {loop.pk} is {loop.status}; only a failed or cancelled loop can be retried.",
                               code="job_not_retryable")
            metrics = dict(loop.metrics)
            entries = metrics.get("stages") or _initial_stages(loop.params)
            stopped = next((entry for entry in entries if entry["status"] != _DONE), None)
            if stopped is not None:
                stopped["retries"] = stopped.get("retries", 0) + 1
                child = Job.objects.filter(pk=stopped["job"]).first() if stopped["job"] else None
                if child is not None and child.status in (Job.Status.FAILED, Job.Status.CANCELLED):
                    job_requeue(job_id=child.pk, note=f"retried with loop {loop.pk}")
                    stopped["status"] = Job.Status.QUEUED
                elif child is None or child.status not in (Job.Status.SUCCEEDED,):
                    stopped.update(status="pending", job=None)
            loop.metrics = {**metrics, "stages": entries, "foreground": False}
            loop.status, loop.error, loop.finished_at, loop.cancel_requested = Job.Status.RUNNING, "", None, False
            loop.heartbeat_at = timezone.now()
            loop.save(update_fields=["metrics", "status", "error", "finished_at", "cancel_requested", "heartbeat_at"])
            transaction.on_commit(lambda: loop_wake(loop_id=loop.pk))
    except IntegrityError as exc:  # the one-loop guard: another loop started meanwhile
        raise Conflict("Another retrain loop is running; retry this one when it has finished.",
                       code="loop_running") from exc
    return loop
