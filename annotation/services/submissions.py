"""Submitting an annotation: validated against the campaign's schema, exactly once per idempotency key."""
import hashlib
import json
from dataclasses import dataclass
from functools import cache

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from lift.api_errors import ApplicationError, Conflict
from lift.prepared import PreparedStatement

from ..models import Annotation, Assignment, Campaign, CampaignItem
from ..schema import PAIR_CHOICES, SHOWN_CHOICES, dimension_keys, pair_choice_from_shown
from . import leasing

RATIONALE_MAX = 2000
MAX_TIME_SPENT_MS = 24 * 3600 * 1000


def _rationale(entry: dict, *, required: bool, what: str) -> tuple[str, str | None]:
    """(the trimmed rationale, or the error that refuses it): text, present when `required`, not too long."""
    rationale = entry.get("rationale", "")
    if not isinstance(rationale, str):
        return "", "rationale must be text"
    rationale = rationale.strip()
    if required and not rationale:
        return rationale, f"a rationale is required for this {what}"
    if len(rationale) > RATIONALE_MAX:
        return rationale, f"rationale is {len(rationale)} characters; at most {RATIONALE_MAX}"
    return rationale, None


def ratings_validate(*, campaign: Campaign, ratings) -> dict:
    """The ratings as they will be stored (rationales trimmed), or an ApplicationError naming each problem."""
    if not isinstance(ratings, dict):
        raise ApplicationError("ratings must be an object with one entry per dimension.", fields={"ratings": "not an object"})
    dimensions = {dim["key"]: dim for dim in campaign.schema["dimensions"]}
    errors: dict[str, str] = {}
    for key in ratings:
        if key not in dimensions:
            errors[key] = f"unknown dimension; this campaign rates {', '.join(dimensions)}"
    cleaned = {}
    for key, dim in dimensions.items():
        entry = ratings.get(key)
        if not isinstance(entry, dict):
            errors[key] = "missing rating"
            continue
        levels = [level["value"] for level in dim["levels"]]
        rating = entry.get("rating")
        if rating not in levels:
            errors[key] = f"rating must be one of {', '.join(levels)}"
            continue
        required = campaign.rationale_policy == Campaign.RationalePolicy.ALWAYS or rating != levels[0]
        rationale, error = _rationale(entry, required=required, what="rating")
        if error:
            errors[key] = error
        else:
            cleaned[key] = {"rating": rating, "rationale": rationale}
    if errors:
        first = next(iter(errors.items()))
        raise ApplicationError(f"{first[0]}: {first[1]}", code="invalid_ratings", fields={"ratings": errors})
    return cleaned


def pair_choices_validate(*, campaign: Campaign, choices, shown_order: str | None) -> dict:
    """A pairwise answer as it will be stored: {dimension: {"choice": "A"|"B"|"tie", "rationale"}}.

    With the lease's `shown_order` the choices name the side the annotator saw (left, right or tie) and are
    turned into A / B of the item; without it (a reviewer's correction) they name A, B or tie directly.
    The rationale policy is the ratings': always, or (unless_good) whenever a side is preferred."""
    if not isinstance(choices, dict):
        raise ApplicationError("choices must be an object with one entry per dimension.",
                               fields={"choices": "not an object"})
    allowed = SHOWN_CHOICES if shown_order else PAIR_CHOICES
    dims = dimension_keys(campaign.schema)
    errors: dict[str, str] = {key: f"unknown dimension; this campaign compares {', '.join(dims)}"
                              for key in choices if key not in dims}
    cleaned = {}
    for key in dims:
        entry = choices.get(key)
        if not isinstance(entry, dict):
            errors[key] = "missing choice"
            continue
        choice = entry.get("choice")
        if choice not in allowed:
            errors[key] = f"choice must be one of {', '.join(allowed)}"
            continue
        required = campaign.rationale_policy == Campaign.RationalePolicy.ALWAYS or choice != "tie"
        rationale, error = _rationale(entry, required=required, what="choice")
        if error:
            errors[key] = error
        else:
            stored = pair_choice_from_shown(choice, shown_order) if shown_order else choice
            cleaned[key] = {"choice": stored, "rationale": rationale}
    if errors:
        first = next(iter(errors.items()))
        raise ApplicationError(f"{first[0]}: {first[1]}", code="invalid_choices", fields={"choices": errors})
    return cleaned


def _check_payload_kind(*, campaign: Campaign, ratings, choices) -> None:
    """A rating campaign takes ratings, a pairwise one choices; the other kind is refused before anything."""
    if campaign.kind == Campaign.Kind.PAIRWISE:
        if ratings is not None or choices is None:
            raise ApplicationError(
                "This campaign compares two videos: send choices (left, right or tie per dimension), not ratings.",
                code="wrong_payload_kind", fields={"choices": "required for a pairwise campaign"})
    elif choices is not None or ratings is None:
        raise ApplicationError("This campaign rates one video: send ratings, not choices.",
                               code="wrong_payload_kind", fields={"ratings": "required for a rating campaign"})


def _request_hash(ratings, time_spent_ms, choices=None) -> str:
    body = {"ratings": ratings, "time_spent_ms": time_spent_ms} if choices is None else \
        {"choices": choices, "time_spent_ms": time_spent_ms}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replayed(*, annotator, idempotency_key: str, request_hash: str) -> Annotation | None:
    previous = Annotation.objects.filter(annotator=annotator, idempotency_key=idempotency_key).first()
    if previous is not None and previous.request_hash != request_hash:
        raise ApplicationError(
            "This Idempotency-Key was already used for a different submission; use a new key.",
            code="idempotency_key_reused",
            status_code=422,
        )
    return previous


def annotation_submit(
    *, assignment: Assignment, annotator, ratings=None, choices=None, time_spent_ms: int, idempotency_key: str
) -> tuple[Annotation, bool]:
    """Returns (annotation, created). A retry with the same key and body returns the first one.
    A rating campaign takes `ratings`, a pairwise one `choices` (as shown: left, right or tie)."""
    if not isinstance(time_spent_ms, int) or isinstance(time_spent_ms, bool) or not 0 <= time_spent_ms <= MAX_TIME_SPENT_MS:
        raise ApplicationError(
            "time_spent_ms must be a whole number of milliseconds between 0 and 24 hours.",
            fields={"time_spent_ms": "out of range"},
        )
    request_hash = _request_hash(ratings, time_spent_ms, choices)
    replayed = lambda: _replayed(annotator=annotator, idempotency_key=idempotency_key, request_hash=request_hash)  # noqa: E731
    # The first submit with a key does no look-up for an earlier one: a replay shows itself by the lease no
    # longer being live or by the key's unique index, and only then is the earlier annotation read.
    try:
        campaign = assignment.campaign
        _check_payload_kind(campaign=campaign, ratings=ratings, choices=choices)
        if campaign.kind == Campaign.Kind.PAIRWISE:
            cleaned = pair_choices_validate(campaign=campaign, choices=choices, shown_order=assignment.shown_order)
        else:
            cleaned = ratings_validate(campaign=campaign, ratings=ratings)
        return _create(assignment=assignment, annotator=annotator, ratings=cleaned, time_spent_ms=time_spent_ms,
                       idempotency_key=idempotency_key, request_hash=request_hash), True
    except (ApplicationError, IntegrityError):
        # A replay (or the same key raced in from a parallel retry): the first one's row is the answer,
        # whatever became of the lease since; a key reused with another body is refused (422).
        previous = replayed()
        if previous is None:
            raise
        return previous, False


def _not_live(assignment: Assignment, now) -> Conflict:
    """Why a submit found its lease closed (read only on this error path)."""
    state, expires_at = Assignment.objects.filter(pk=assignment.pk).values_list("state", "expires_at").get()
    if state == Assignment.State.SUBMITTED:
        return Conflict("This task was already submitted.", code="already_submitted")
    if state != Assignment.State.LEASED:
        return Conflict(f"This task is no longer yours to work on (it is {state}).", code="lease_not_live")
    return Conflict("Your lease on this task expired before the submit arrived; ask for a new task.", code="lease_expired")


def _create(*, assignment, annotator, ratings, time_spent_ms, idempotency_key, request_hash) -> Annotation:
    now = timezone.now()
    annotation = Annotation(assignment=assignment, campaign_id=assignment.campaign_id, item_id=assignment.item_id,
                            annotator=annotator, ratings=ratings, time_spent_ms=time_spent_ms,
                            idempotency_key=idempotency_key, request_hash=request_hash)
    if connection.vendor == "postgresql":
        _store_in_one_statement(annotation, now=now)
    else:
        _store_with_orm(annotation, now=now)
    return annotation


@cache
def _submit_statement() -> tuple[list, PreparedStatement]:
    """The annotation's columns, and one statement that closes the lease (only while it is live: it waits for a
    concurrent submit or skip of the same lease, then re-checks), inserts the annotation and counts it on
    the item; all or nothing, as any single statement is."""
    quote = connection.ops.quote_name
    fields = [f for f in Annotation._meta.concrete_fields if not f.primary_key]
    table = lambda model: quote(model._meta.db_table)  # noqa: E731
    return fields, PreparedStatement("submit", f"""
WITH closed AS (
    UPDATE {table(Assignment)} SET state = 'submitted', updated_at = %s
    WHERE id = %s AND state = 'leased' AND expires_at > %s RETURNING id
), created AS (
    INSERT INTO {table(Annotation)} ({", ".join(quote(f.column) for f in fields)})
    SELECT {", ".join(["%s"] * len(fields))} FROM closed RETURNING id, item_id
), counted AS (
    UPDATE {table(CampaignItem)} i SET annotations_done = i.annotations_done + 1 FROM created WHERE i.id = created.item_id
)
SELECT id FROM created
""")


def _store_in_one_statement(annotation: Annotation, *, now) -> None:
    fields, statement = _submit_statement()
    values = [field.get_db_prep_save(field.pre_save(annotation, True), connection) for field in fields]
    with connection.cursor() as cursor:
        statement.execute(cursor, [now, annotation.assignment_id, now, *values])
        row = cursor.fetchone()
    if row is None:
        raise _not_live(annotation.assignment, now)
    annotation.pk = row[0]
    annotation._state.adding, annotation._state.db = False, connection.alias


@transaction.atomic
def _store_with_orm(annotation: Annotation, *, now) -> None:
    closed = Assignment.objects.filter(pk=annotation.assignment_id, state=Assignment.State.LEASED,
                                       expires_at__gt=now).update(state=Assignment.State.SUBMITTED, updated_at=now)
    if not closed:
        raise _not_live(annotation.assignment, now)
    annotation.save(force_insert=True)
    CampaignItem.objects.filter(pk=annotation.item_id).update(annotations_done=F("annotations_done") + 1)


@cache
def _record_next_statement() -> PreparedStatement:
    table = connection.ops.quote_name(Annotation._meta.db_table)
    return PreparedStatement(
        "record_next", f"UPDATE {table} SET next_assignment_id = %s, next_state = %s WHERE id = %s AND next_state = ''")


def _record_next(annotation: Annotation, *, lease: Assignment | None, state: str) -> bool:
    """Record the answer about the next task on the annotation, unless a parallel replay recorded one first
    (a prepared statement: the ORM's update cost more to build than to run)."""
    with connection.cursor() as cursor:
        _record_next_statement().execute(cursor, [lease.pk if lease else None, state, annotation.pk])
        return cursor.rowcount == 1


@dataclass(frozen=True)
class SubmitWithNext:
    annotation: Annotation
    created: bool
    next: Assignment | None
    next_state: str  # Annotation.NextState: leased, nothing_left, campaign_paused


def annotation_submit_and_next(
    *, assignment: Assignment, annotator, ratings=None, choices=None, time_spent_ms: int, idempotency_key: str
) -> SubmitWithNext:
    """Submit, then lease the annotator's next task in the same call. The answer about the next task is
    recorded on the annotation, so a replay (same key and body) returns the same annotation and the same
    next lease (in its state now), never a second one."""
    annotation, created = annotation_submit(assignment=assignment, annotator=annotator, ratings=ratings,
                                            choices=choices, time_spent_ms=time_spent_ms,
                                            idempotency_key=idempotency_key)
    if not annotation.next_state:
        campaign = assignment.campaign
        recorded_with_lease = []
        if not campaign.is_active:
            lease, state = None, Annotation.NextState.CAMPAIGN_PAUSED
        else:
            # Leased in a transaction of its own: the submit has committed, so a failure here never loses it
            # (a replay then leases). One live lease per annotator and campaign makes a racing replay get
            # this same lease. A new lease is recorded as the answer in its own transaction (one commit).
            lease = leasing.campaign_next_task(
                campaign=campaign, annotator=annotator, after_submit=True,
                with_new_lease=lambda new: recorded_with_lease.append(
                    _record_next(annotation, lease=new, state=Annotation.NextState.LEASED)))
            state = Annotation.NextState.LEASED if lease else Annotation.NextState.NOTHING_LEFT
        # Otherwise (no new lease: nothing left, paused, or a parallel call's lease) it is recorded now.
        recorded = recorded_with_lease[0] if recorded_with_lease else _record_next(annotation, lease=lease, state=state)
        if recorded:
            return SubmitWithNext(annotation, created, lease, state)
        annotation.refresh_from_db(fields=["next_assignment", "next_state"])  # a parallel replay recorded first
    lease = leasing.assignment_with_relations(annotation.next_assignment_id) if annotation.next_assignment_id else None
    return SubmitWithNext(annotation, created, lease, annotation.next_state)
