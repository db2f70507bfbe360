"""Leases: who gets which item next, and what happens when a lease is skipped, extended or lost."""
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Exists, F, OuterRef, When
from django.utils import timezone

from lift.api_errors import Conflict

from ..models import Assignment, Campaign, CampaignItem
from ..quality.gold import gold_preference

RECLAIM_BATCH = 500


def _release_slot(item_id: int) -> None:
    # A freed slot reopens the item; is_open is recomputed from the counter, never guessed.
    CampaignItem.objects.filter(pk=item_id).update(slots_taken=F("slots_taken") - 1, is_open=True)


def leases_reclaim_expired(*, campaign: Campaign, now=None) -> int:
    """Expired leases give their slot back to the pool. Safe to run concurrently (SKIP LOCKED)."""
    now = now or timezone.now()
    with transaction.atomic():
        expired = list(
            Assignment.objects.select_for_update(skip_locked=True)
            .filter(campaign=campaign, state=Assignment.State.LEASED, expires_at__lte=now)
            .values_list("pk", "item_id")[:RECLAIM_BATCH]
        )
        if not expired:
            return 0
        Assignment.objects.filter(pk__in=[pk for pk, _ in expired]).update(state=Assignment.State.EXPIRED)
        for _, item_id in expired:
            _release_slot(item_id)
    return len(expired)


def _live_lease(*, campaign: Campaign, annotator, now) -> Assignment | None:
    return (
        Assignment.objects.select_related("item__video__prompt")
        .filter(campaign=campaign, annotator=annotator, state=Assignment.State.LEASED, expires_at__gt=now)
        .first()
    )


def campaign_next_task(*, campaign: Campaign, annotator) -> Assignment | None:
    """Lease one item to the annotator, or return the live lease they already hold; None when done.

    Items come by priority, then fewest annotations; never one the annotator already submitted or
    skipped, never beyond the campaign's overlap (annotations plus live leases).
    """
    now = timezone.now()
    existing = _live_lease(campaign=campaign, annotator=annotator, now=now)
    if existing:
        return existing
    leases_reclaim_expired(campaign=campaign, now=now)
    try:
        return _lease_new_item(campaign=campaign, annotator=annotator, now=now)
    except IntegrityError:
        # A parallel request of the same annotator won the one-live-lease race: return theirs.
        return _live_lease(campaign=campaign, annotator=annotator, now=now)


def _open_items(*, campaign: Campaign, annotator, skip_locked: bool):
    finished = Assignment.objects.filter(
        item=OuterRef("pk"),
        annotator=annotator,
        state__in=[Assignment.State.SUBMITTED, Assignment.State.SKIPPED, Assignment.State.LEASED],
    )
    return (
        CampaignItem.objects.select_for_update(skip_locked=skip_locked, of=("self",))
        .filter(campaign=campaign, is_open=True)
        .filter(~Exists(finished))
        .order_by("-priority", "annotations_done", "id")
    )


def _serialize_annotator(*, campaign: Campaign, annotator) -> None:
    # One annotator's parallel next-task calls (double clicks, retries, tabs) queue behind each other, so the
    # second sees the first's lease instead of racing it. SQLite's IMMEDIATE transactions serialize anyway.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [campaign.pk, annotator.pk])


@transaction.atomic
def _lease_new_item(*, campaign: Campaign, annotator, now) -> Assignment | None:
    _serialize_annotator(campaign=campaign, annotator=annotator)
    existing = _live_lease(campaign=campaign, annotator=annotator, now=now)
    if existing:
        return existing
    candidates = _open_items(campaign=campaign, annotator=annotator, skip_locked=True)
    # Gold items are mixed in at the campaign's gold rate; otherwise they are ordinary items.
    prefer_gold = gold_preference(campaign=campaign, annotator=annotator)
    item = None if prefer_gold is None else candidates.filter(gold_answer__isnull=not prefer_gold).first()
    # Items locked by other annotators' leases in flight were skipped; before answering "nothing left",
    # wait for those transactions and look again, so contention never reads as a finished campaign.
    item = item or candidates.first() or _open_items(campaign=campaign, annotator=annotator, skip_locked=False).first()
    if item is None:
        return None
    CampaignItem.objects.filter(pk=item.pk).update(
        slots_taken=F("slots_taken") + 1,
        # Evaluated on the old counter: the item stays open while one more slot is left after this.
        is_open=Case(When(slots_taken__lt=campaign.overlap - 1, then=True), default=False),
    )
    expires_at = now + timedelta(seconds=campaign.lease_seconds)
    assignment, created = Assignment.objects.get_or_create(
        item=item,
        annotator=annotator,
        defaults={"campaign": campaign, "leased_at": now, "expires_at": expires_at},
    )
    if not created:  # the annotator's own expired lease on this item comes back to life
        assignment.state = Assignment.State.LEASED
        assignment.leased_at, assignment.expires_at = now, expires_at
        assignment.save(update_fields=["state", "leased_at", "expires_at", "updated_at"])
    return Assignment.objects.select_related("item__video__prompt").get(pk=assignment.pk)


def _lock_live_assignment(*, assignment: Assignment, now) -> Assignment:
    locked = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if locked.state != Assignment.State.LEASED:
        raise Conflict(f"This task is no longer yours to work on (it is {locked.state}).", code="lease_not_live")
    if locked.expires_at <= now:
        raise Conflict("Your lease on this task has expired; ask for a new task.", code="lease_expired")
    return locked


@transaction.atomic
def assignment_skip(*, assignment: Assignment, reason: str) -> Assignment:
    locked = _lock_live_assignment(assignment=assignment, now=timezone.now())
    locked.state = Assignment.State.SKIPPED
    locked.skip_reason = reason
    locked.save(update_fields=["state", "skip_reason", "updated_at"])
    _release_slot(locked.item_id)
    return locked


@transaction.atomic
def assignment_extend(*, assignment: Assignment) -> Assignment:
    now = timezone.now()
    locked = _lock_live_assignment(assignment=assignment, now=now)
    locked.expires_at = now + timedelta(seconds=locked.campaign.lease_seconds)
    locked.save(update_fields=["expires_at", "updated_at"])
    return locked
