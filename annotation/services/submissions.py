"""Submitting an annotation: validated against the campaign's schema, exactly once per idempotency key."""
import hashlib
import json

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from lift.api_errors import ApplicationError, Conflict

from ..models import Annotation, Assignment, Campaign, CampaignItem

RATIONALE_MAX = 2000
MAX_TIME_SPENT_MS = 24 * 3600 * 1000


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
        rationale = entry.get("rationale", "")
        if not isinstance(rationale, str):
            errors[key] = "rationale must be text"
            continue
        rationale = rationale.strip()
        required = campaign.rationale_policy == Campaign.RationalePolicy.ALWAYS or rating != levels[0]
        if required and not rationale:
            errors[key] = "a rationale is required for this rating"
        elif len(rationale) > RATIONALE_MAX:
            errors[key] = f"rationale is {len(rationale)} characters; at most {RATIONALE_MAX}"
        else:
            cleaned[key] = {"rating": rating, "rationale": rationale}
    if errors:
        first = next(iter(errors.items()))
        raise ApplicationError(f"{first[0]}: {first[1]}", code="invalid_ratings", fields={"ratings": errors})
    return cleaned


def _request_hash(ratings, time_spent_ms) -> str:
    canonical = json.dumps({"ratings": ratings, "time_spent_ms": time_spent_ms}, sort_keys=True, ensure_ascii=False)
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
    *, assignment: Assignment, annotator, ratings, time_spent_ms: int, idempotency_key: str
) -> tuple[Annotation, bool]:
    """Returns (annotation, created). A retry with the same key and body returns the first one."""
    if not isinstance(time_spent_ms, int) or isinstance(time_spent_ms, bool) or not 0 <= time_spent_ms <= MAX_TIME_SPENT_MS:
        raise ApplicationError(
            "time_spent_ms must be a whole number of milliseconds between 0 and 24 hours.",
            fields={"time_spent_ms": "out of range"},
        )
    request_hash = _request_hash(ratings, time_spent_ms)
    previous = _replayed(annotator=annotator, idempotency_key=idempotency_key, request_hash=request_hash)
    if previous is not None:
        return previous, False
    cleaned = ratings_validate(campaign=assignment.campaign, ratings=ratings)
    try:
        return _create(assignment=assignment, annotator=annotator, ratings=cleaned, time_spent_ms=time_spent_ms,
                       idempotency_key=idempotency_key, request_hash=request_hash), True
    except IntegrityError:
        # The same key raced in from a parallel retry: the winner's row is the answer.
        previous = _replayed(annotator=annotator, idempotency_key=idempotency_key, request_hash=request_hash)
        if previous is None:
            raise
        return previous, False


@transaction.atomic
def _create(*, assignment, annotator, ratings, time_spent_ms, idempotency_key, request_hash) -> Annotation:
    locked = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if locked.state == Assignment.State.SUBMITTED:
        raise Conflict("This task was already submitted.", code="already_submitted")
    if locked.state != Assignment.State.LEASED:
        raise Conflict(f"This task is no longer yours to work on (it is {locked.state}).", code="lease_not_live")
    if locked.expires_at <= timezone.now():
        raise Conflict("Your lease on this task expired before the submit arrived; ask for a new task.", code="lease_expired")
    annotation = Annotation.objects.create(
        assignment=locked,
        campaign_id=locked.campaign_id,
        item_id=locked.item_id,
        annotator=annotator,
        ratings=ratings,
        time_spent_ms=time_spent_ms,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
    )
    locked.state = Assignment.State.SUBMITTED
    locked.save(update_fields=["state", "updated_at"])
    CampaignItem.objects.filter(pk=locked.item_id).update(annotations_done=F("annotations_done") + 1)
    return annotation
