"""Helpers: annotations straight into the database (the submit path has its own tests)."""
import uuid

from django.utils import timezone

from annotation.models import Annotation, Assignment

LEVELS = ("Good", "Normal", "Bad")


def ratings(semantic="Good", motion="Normal", fidelity="Bad", rationale="The subject and scene match the caption well."):
    return {dim: {"rating": value, "rationale": f"{dim}: {rationale}"}
            for dim, value in (("semantic", semantic), ("motion", motion), ("fidelity", fidelity))}


def annotate(item, user, values=None, *, time_spent_ms=20_000, review_state="pending"):
    now = timezone.now()
    assignment = Assignment.objects.create(campaign=item.campaign, item=item, annotator=user, leased_at=now,
                                           expires_at=now, state=Assignment.State.SUBMITTED)
    return Annotation.objects.create(
        assignment=assignment, campaign=item.campaign, item=item, annotator=user, ratings=values or ratings(),
        time_spent_ms=time_spent_ms, idempotency_key=str(uuid.uuid4()), request_hash="x" * 64,
        review_state=review_state,
    )
