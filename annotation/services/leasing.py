"""Leases: who gets which item next, and what happens when a lease is skipped, extended or lost."""
import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import cache

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Exists, F, OuterRef, When
from django.utils import timezone

from lift.api_errors import Conflict
from lift.prepared import PreparedStatement

from .. import selectors
from ..models import Assignment, Campaign, CampaignItem
from ..quality.gold import gold_preference
from ..rows import Columns, select_list

RECLAIM_BATCH = 500


def _release_slot(item_id: int) -> None:
    # A freed slot reopens the item; is_open is recomputed from the counter, never guessed.
    CampaignItem.objects.filter(pk=item_id).update(slots_taken=F("slots_taken") - 1, is_open=True)


# Expired leases give their slots back in one statement (one round trip whatever their number): the
# leases are claimed with SKIP LOCKED, so concurrent reclaims never count one twice.
_RECLAIM = PreparedStatement("reclaim_expired", f"""
WITH expired AS (
    SELECT id FROM {Assignment._meta.db_table}
    WHERE campaign_id = %(campaign)s AND state = 'leased' AND expires_at <= %(now)s
    ORDER BY id LIMIT {RECLAIM_BATCH} FOR UPDATE SKIP LOCKED
), freed AS (
    UPDATE {Assignment._meta.db_table} a SET state = 'expired', updated_at = %(now)s
    FROM expired WHERE a.id = expired.id RETURNING a.item_id
)
UPDATE {CampaignItem._meta.db_table} i SET slots_taken = i.slots_taken - f.n, is_open = TRUE
FROM (SELECT item_id, count(*) AS n FROM freed GROUP BY item_id) f WHERE i.id = f.item_id
""")


def leases_reclaim_expired(*, campaign: Campaign, now=None) -> int:
    """Expired leases give their slot back to the pool; returns how many items got slots back.
    Safe to run concurrently (SKIP LOCKED)."""
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        # One statement is atomic on its own: no BEGIN/COMMIT round trips around it.
        with connection.cursor() as cursor:
            _RECLAIM.execute(cursor, {"campaign": campaign.pk, "now": now})
            return cursor.rowcount
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


def _with_lease_relations(assignments):
    # Everything AssignmentOutput reads, in the one statement (no lazy loads while serialising).
    return assignments.select_related("campaign", "annotator", "item__video__prompt", "item__video_b")


@cache
def _live_lease_statement() -> tuple[Columns, PreparedStatement]:
    """The annotator's live lease in a campaign with its item, videos and prompt (every next-task looks)."""
    lease = Columns(Assignment, "a")
    return lease, PreparedStatement("live_lease", (
        f"SELECT {select_list(lease, *selectors.item_columns())} FROM {lease.table} "
        f"JOIN {selectors.item_columns()[0].table} ON i.id = a.item_id {selectors.item_joins()} "
        f"WHERE a.campaign_id = %(campaign)s AND a.annotator_id = %(annotator)s AND a.state = 'leased' "
        f"AND a.expires_at > %(now)s"
    ))


def _live_lease(*, campaign: Campaign, annotator, now) -> Assignment | None:
    columns, statement = _live_lease_statement()
    with connection.cursor() as cursor:
        statement.execute(cursor, {"campaign": campaign.pk, "annotator": annotator.pk, "now": now})
        row = cursor.fetchone()
    if row is None:
        return None
    lease = columns.instance(row[:len(columns)])
    lease.campaign, lease.annotator, lease.item = campaign, annotator, selectors.item_from_row(row[len(columns):])
    return lease


def assignment_with_relations(assignment_id: int) -> Assignment:
    return _with_lease_relations(Assignment.objects).get(pk=assignment_id)


def campaign_next_task(*, campaign: Campaign, annotator, after_submit: bool = False,
                       with_new_lease: Callable[[Assignment], None] | None = None) -> Assignment | None:
    """Lease one item to the annotator, or return the live lease they already hold; None when done.

    Items come by priority, then fewest annotations; never one the annotator already submitted or
    skipped, never beyond the campaign's overlap (annotations plus live leases). `after_submit`: the
    caller has just closed the annotator's live lease, so the quick look for one is skipped (one that a
    parallel call left still wins: see _lease_new_item). `with_new_lease` is called with a new lease
    inside its transaction, to write what belongs with it in the same commit.
    """
    now = timezone.now()
    existing = None if after_submit else _live_lease(campaign=campaign, annotator=annotator, now=now)
    if existing:
        return existing
    # Its own transaction, before the lease's: the item rows it updates are not held locked while this
    # call waits for others' leases (two such waits could otherwise deadlock near a campaign's end).
    leases_reclaim_expired(campaign=campaign, now=now)
    try:
        return _lease_new_item(campaign=campaign, annotator=annotator, now=now, with_new_lease=with_new_lease)
    except IntegrityError:
        # A parallel request of the same annotator won the one-live-lease race: return theirs (read after
        # their transaction committed: the insert waited for it).
        return _live_lease(campaign=campaign, annotator=annotator, now=now)


def _open_items(*, campaign: Campaign, annotator):
    """The ORM's pick (SQLite, whose IMMEDIATE transactions run one at a time, so no row locks are needed)."""
    finished = Assignment.objects.filter(
        item=OuterRef("pk"),
        annotator=annotator,
        state__in=[Assignment.State.SUBMITTED, Assignment.State.SKIPPED, Assignment.State.LEASED],
    )
    return (
        CampaignItem.objects
        .select_related("video__prompt", "video_b")  # the new lease is answered without reading the item again
        .filter(campaign=campaign, is_open=True)
        .filter(~Exists(finished))
        .order_by("-priority", "annotations_done", "id")
    )


# The item's slot and the lease in one round trip on PostgreSQL: the counter moves (is_open read on the old
# counter: open while one more slot is left after this one), and the annotator's lease is inserted, or their
# own expired lease on this item (the only row that can already be there) comes back to life.
_TAKE_SLOT_AND_LEASE = PreparedStatement("take_slot_and_lease", f"""
WITH taken AS (
    UPDATE {CampaignItem._meta.db_table} SET slots_taken = slots_taken + 1, is_open = slots_taken < %(last_open)s
    WHERE id = %(item)s RETURNING id
)
INSERT INTO {Assignment._meta.db_table}
    (campaign_id, item_id, annotator_id, state, leased_at, expires_at, skip_reason, shown_order, updated_at)
SELECT %(campaign)s, id, %(annotator)s, 'leased', %(now)s, %(expires)s, '', %(order)s, %(now)s FROM taken
ON CONFLICT (item_id, annotator_id) DO UPDATE SET state = EXCLUDED.state, leased_at = EXCLUDED.leased_at,
    expires_at = EXCLUDED.expires_at, shown_order = EXCLUDED.shown_order, updated_at = EXCLUDED.updated_at
RETURNING id
""")


_OPEN_TO_ANNOTATOR = (
    "WHERE i.campaign_id = %(campaign)s AND i.is_open AND NOT EXISTS (SELECT 1 FROM {assignments} a "
    "WHERE a.item_id = i.id AND a.annotator_id = %(annotator)s AND a.state IN ('submitted', 'skipped', 'leased')) "
)


def _open_to_annotator() -> str:
    return _OPEN_TO_ANNOTATOR.format(assignments=connection.ops.quote_name(Assignment._meta.db_table))


@cache
def _pick_statement(*, gold: bool) -> PreparedStatement:
    """The annotator's next two open items (the first to lease, the second to prefetch) with their videos
    and prompt, rows locked, rows other transactions hold skipped: never one they submitted, skipped or
    hold, best priority and fewest annotations first; `gold` restricts to gold items or to ordinary ones."""
    item = selectors.item_columns()[0]
    return PreparedStatement(f"pick{'_gold' if gold else ''}", (
        f"SELECT {select_list(*selectors.item_columns())} FROM {item.table} {selectors.item_joins()} "
        + _open_to_annotator() + ("AND (i.gold_answer IS NOT NULL) = %(gold)s " if gold else "")
        + selectors.ITEMS_BEST_FIRST + "LIMIT 2 FOR UPDATE OF i SKIP LOCKED"
    ))


@cache
def _first_open_statement() -> PreparedStatement:
    """The annotator's best open item, locked or not (nothing is locked by this)."""
    item = selectors.item_columns()[0]
    return PreparedStatement(
        "first_open", f"SELECT i.id FROM {item.table} " + _open_to_annotator() + selectors.ITEMS_BEST_FIRST + "LIMIT 1")


def _wait_for_lock_on(cursor, item_id: int) -> None:
    """Wait until the transaction holding this item's row ends, then let the row go again (a savepoint)."""
    savepoint = transaction.savepoint()
    cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(CampaignItem._meta.db_table)} WHERE id = %s FOR UPDATE",
                   [item_id])
    transaction.savepoint_rollback(savepoint)


def _pick_on_postgresql(*, campaign: Campaign, annotator, prefer_gold: bool | None):
    """(item, hint): the item to lease and the one likely next, or (None, None). The hint's row is locked
    with the item's for this short transaction, so a parallel call leases another; that is the better hint."""
    params = {"campaign": campaign.pk, "annotator": annotator.pk, "gold": prefer_gold}
    with connection.cursor() as cursor:
        while True:
            for gold in ([True] if prefer_gold is not None else []) + [False]:
                _pick_statement(gold=gold).execute(cursor, params)
                rows = cursor.fetchall()
                if rows:
                    items = [selectors.item_from_row(row) for row in rows]
                    return items[0], items[1] if len(items) > 1 else None
            # Every open item was locked by other annotators' leases in flight. Before answering "nothing
            # left", wait for one of them to end and look again, so contention never reads as a finished
            # campaign. The wait holds no row: a transaction that held one row while it waited for another
            # could deadlock with one doing the same the other way round.
            _first_open_statement().execute(cursor, params)
            row = cursor.fetchone()
            if row is None:
                return None, None
            _wait_for_lock_on(cursor, row[0])


def _pick_with_orm(*, campaign: Campaign, annotator, prefer_gold: bool | None) -> CampaignItem | None:
    candidates = _open_items(campaign=campaign, annotator=annotator)
    item = None if prefer_gold is None else candidates.filter(gold_answer__isnull=not prefer_gold).first()
    return item or candidates.first()


@transaction.atomic
def _lease_new_item(*, campaign: Campaign, annotator, now, with_new_lease=None) -> Assignment | None:
    """On PostgreSQL the one-live-lease unique index settles a race between one annotator's parallel calls
    (double clicks, retries, tabs): the later insert waits for the earlier transaction, then fails, and
    campaign_next_task answers with the lease that won. SQLite's IMMEDIATE transactions run one at a time,
    so there a look for a lease that a call ahead of this one left is enough."""
    postgresql = connection.vendor == "postgresql"
    existing = None if postgresql else _live_lease(campaign=campaign, annotator=annotator, now=now)
    if existing:
        return existing
    # Gold items are mixed in at the campaign's gold rate; otherwise they are ordinary items.
    prefer_gold = gold_preference(campaign=campaign, annotator=annotator)
    if postgresql:
        item, hint = _pick_on_postgresql(campaign=campaign, annotator=annotator, prefer_gold=prefer_gold)
    else:
        item = _pick_with_orm(campaign=campaign, annotator=annotator, prefer_gold=prefer_gold)
    if item is None:
        return None
    expires_at = now + timedelta(seconds=campaign.lease_seconds)
    # A pair is shown in an order drawn afresh for every lease, so a preference for one side shows up as
    # position bias instead of as a preference for A or B.
    shown_order = secrets.choice(Assignment.ShownOrder.values) if item.video_b_id else ""
    lease = Assignment(campaign=campaign, item=item, annotator=annotator, state=Assignment.State.LEASED,
                       leased_at=now, expires_at=expires_at, shown_order=shown_order, updated_at=now)
    if postgresql:
        lease.next_hint = hint  # the answer's prefetch: no look-up of its own
        with connection.cursor() as cursor:
            _TAKE_SLOT_AND_LEASE.execute(cursor, {
                "item": item.pk, "last_open": campaign.overlap - 1, "campaign": campaign.pk, "annotator": annotator.pk,
                "now": now, "expires": expires_at, "order": shown_order})
            lease.pk = cursor.fetchone()[0]
        lease._state.adding, lease._state.db = False, connection.alias
    else:
        lease = _take_slot_and_lease_with_orm(lease, campaign=campaign)
    if with_new_lease:
        with_new_lease(lease)
    return lease


def _take_slot_and_lease_with_orm(lease: Assignment, *, campaign: Campaign) -> Assignment:
    item = lease.item
    CampaignItem.objects.filter(pk=item.pk).update(
        slots_taken=F("slots_taken") + 1,
        # Evaluated on the old counter: the item stays open while one more slot is left after this.
        is_open=Case(When(slots_taken__lt=campaign.overlap - 1, then=True), default=False),
    )
    # One statement instead of get_or_create's look-up, savepoint and insert: the annotator's own expired
    # lease on this item (the only row that can already be there) comes back to life.
    (assignment,) = Assignment.objects.bulk_create(
        [lease], update_conflicts=True, unique_fields=["item", "annotator"],
        update_fields=["state", "leased_at", "expires_at", "shown_order", "updated_at"],
    )
    return assignment


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
