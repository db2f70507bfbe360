"""The admins' retrain policy: its settings, its beat schedule, and the check that starts a loop once
enough new ratings arrived. Every start (scheduled or by hand) is a trigger row: started, or skipped
and why (one loop runs at a time)."""
from django.db import transaction
from django.db.models import Max

from annotation.models import Annotation
from annotation.snapshots.export import DEFAULT_STATES
from lift.api_errors import ApplicationError, Conflict

from ..models import Job, ModelVersion, RetrainPolicy, RetrainTrigger
from ..selectors import unfinished_loop
from ..services.jobs import job_create
from .params import LOOP_SETTINGS, loop_settings_validate

POLICY_TASK_NAME = "retrain policy check"


def policy_get() -> RetrainPolicy:
    policy, _ = RetrainPolicy.objects.get_or_create(pk=1, defaults={"review_states": list(DEFAULT_STATES)})
    return policy


def policy_loop_params(policy: RetrainPolicy) -> dict:
    return {key: getattr(policy, key if key != "next_round_campaign" else "next_round_campaign_id")
            for key in LOOP_SETTINGS}


@transaction.atomic
def policy_update(*, changes: dict, by=None) -> RetrainPolicy:
    """Change some settings (the rest stay), checked as a loop's would be, and write the beat schedule."""
    policy = RetrainPolicy.objects.select_for_update().get(pk=policy_get().pk)
    settings = loop_settings_validate({**policy_loop_params(policy),
                                    **{k: v for k, v in changes.items() if k in LOOP_SETTINGS}})
    for key, value in settings.items():
        setattr(policy, "next_round_campaign_id" if key == "next_round_campaign" else key, value)
    for key in ("enabled", "min_new_annotations", "check_every_minutes"):
        if key in changes:
            setattr(policy, key, changes[key])
    if policy.check_every_minutes < 1:
        raise ApplicationError("check_every_minutes must be at least 1.", fields={"check_every_minutes": "too small"})
    policy.updated_by = by
    policy.save()
    _schedule_write(policy)
    return policy


def _schedule_write(policy: RetrainPolicy) -> None:
    """The beat entry that runs the check (django-celery-beat's DatabaseScheduler picks changes up)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every, _ = IntervalSchedule.objects.get_or_create(every=policy.check_every_minutes, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.update_or_create(name=POLICY_TASK_NAME, defaults={
        "task": "alignment.retrain_check", "interval": every, "enabled": policy.enabled, "queue": "cpu",
        "description": "Starts a retrain loop when enough new ratings arrived (alignment.RetrainPolicy)."})


def annotations_new_count(*, policy: RetrainPolicy) -> int:
    """Ratings in the policy's states (and campaigns) since the newest critic or the last loop, whichever is later."""
    marks = [ModelVersion.objects.filter(kind=ModelVersion.Kind.CRITIC).aggregate(at=Max("created_at"))["at"],
             Job.objects.filter(kind=Job.Kind.RETRAIN_LOOP).aggregate(at=Max("created_at"))["at"]]
    since = max((mark for mark in marks if mark is not None), default=None)
    annotations = Annotation.objects.filter(review_state__in=policy.review_states or DEFAULT_STATES)
    if policy.source_campaign_ids:
        annotations = annotations.filter(campaign_id__in=policy.source_campaign_ids)
    if since is not None:
        annotations = annotations.filter(created_at__gt=since)
    return annotations.count()


def loop_start(*, params: dict, source: str, by=None, new_annotations: int | None = None) -> RetrainTrigger:
    """Start a loop now, or record why not when one is already running (the one-loop guard)."""
    try:
        loop, created = job_create(kind=Job.Kind.RETRAIN_LOOP, params=params, created_by=by)
    except Conflict as refused:
        if refused.code not in ("loop_running", "job_conflict"):
            raise
        return RetrainTrigger.objects.create(source=source, outcome=RetrainTrigger.Outcome.SKIPPED, loop=unfinished_loop(),
                                             new_annotations=new_annotations, reason=refused.message, by=by)
    if not created:  # an identical trigger at the same moment started it
        return RetrainTrigger.objects.create(source=source, outcome=RetrainTrigger.Outcome.SKIPPED, loop=loop,
                                             new_annotations=new_annotations, by=by,
                                             reason=f"A retrain loop is already {loop.status} (job {loop.pk}).")
    return RetrainTrigger.objects.create(source=source, outcome=RetrainTrigger.Outcome.STARTED, loop=loop,
                                         new_annotations=new_annotations, by=by)


def policy_check() -> RetrainTrigger | None:
    """The scheduled check: below the threshold nothing happens; at or above it a loop starts (or is skipped)."""
    policy = policy_get()
    if not policy.enabled:
        return None
    new = annotations_new_count(policy=policy)
    if new < policy.min_new_annotations:
        return None
    try:
        return loop_start(params=policy_loop_params(policy), source=RetrainTrigger.Source.SCHEDULE,
                          new_annotations=new)
    except ApplicationError as refused:  # e.g. no active generator: the admins see why no loop started
        return RetrainTrigger.objects.create(source=RetrainTrigger.Source.SCHEDULE, outcome=RetrainTrigger.Outcome.SKIPPED,
                                             new_annotations=new, reason=refused.message)
