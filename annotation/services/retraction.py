"""Taking an annotation back without deleting it: its annotator withdraws it, or an admin voids it.

The row stays with a soft state and an append-only audit entry (who, when, why, before, after); it
leaves consensus, quality figures and snapshots, and its slot goes back to the pool so the item can
reach its overlap with someone else's rating.
"""
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest

from lift.api_errors import ApplicationError, Conflict

from ..models import Annotation, AnnotationAudit, CampaignItem
from ..quality.tables import effective_ratings

REASON_MAX = 2000


def _snapshot_of(annotation: Annotation) -> dict:
    return {"state": annotation.state, "review_state": annotation.review_state,
            "ratings": effective_ratings(annotation.ratings, annotation.corrected_ratings)}


def _reason_validate(reason) -> str:
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise ApplicationError("Say why (a reason is kept in the audit trail).", code="reason_required",
                               fields={"reason": "required"})
    if len(reason) > REASON_MAX:
        raise ApplicationError(f"reason is {len(reason)} characters; at most {REASON_MAX}.",
                               fields={"reason": "too long"})
    return reason


@transaction.atomic
def _retract(*, annotation: Annotation, actor, action: str, new_state: str, reason: str,
             check=None) -> AnnotationAudit:
    reason = _reason_validate(reason)
    locked = Annotation.objects.select_for_update().get(pk=annotation.pk)
    if locked.state != Annotation.State.ACTIVE:
        raise Conflict(f"This annotation is already {locked.state}.", code="annotation_not_active")
    if check is not None:
        check(locked)
    before = _snapshot_of(locked)
    locked.state = new_state
    locked.save(update_fields=["state"])
    # Its slot goes back: the item reopens below its overlap (counters as in leasing._release_slot;
    # floored at 0 for rows that came in without counters, e.g. written straight into the database).
    CampaignItem.objects.filter(pk=locked.item_id).update(
        annotations_done=Greatest(F("annotations_done") - 1, 0), slots_taken=Greatest(F("slots_taken") - 1, 0),
        is_open=True,
    )
    annotation.state = new_state
    return AnnotationAudit.objects.create(annotation=locked, actor=actor, action=action, reason=reason,
                                          before=before, after=_snapshot_of(locked))


def _still_unreviewed(annotation: Annotation) -> None:
    if annotation.review_state != Annotation.ReviewState.PENDING:
        raise Conflict(f"This annotation was already reviewed ({annotation.review_state}); ask an admin to void it.",
                       code="already_reviewed")


def annotation_withdraw(*, annotation: Annotation, annotator, reason: str) -> AnnotationAudit:
    """The annotator takes back their own annotation while it is still unreviewed."""
    if annotation.annotator_id != annotator.pk:
        raise Conflict("Only the annotator who submitted it can withdraw an annotation.", code="not_yours")
    return _retract(annotation=annotation, actor=annotator, action=AnnotationAudit.Action.WITHDRAW,
                    new_state=Annotation.State.WITHDRAWN, reason=reason, check=_still_unreviewed)


def annotation_void(*, annotation: Annotation, admin, reason: str) -> AnnotationAudit:
    """An admin voids an annotation (a spammer's work, a rating given by mistake), reviewed or not."""
    return _retract(annotation=annotation, actor=admin, action=AnnotationAudit.Action.VOID,
                    new_state=Annotation.State.VOIDED, reason=reason)
