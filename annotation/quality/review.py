"""Review: who may review, the reviewer queue, and review decisions kept as an append-only audit trail."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from django.db import transaction
from django.db.models import QuerySet

from lift.api_errors import ApplicationError, Conflict, NotFound

from ..models import Annotation, AnnotationReview, Campaign, CampaignItem
from ..roles import is_admin, is_reviewer
from ..selectors import campaigns_visible_to
from .pairs import campaign_pair_flags
from .report import campaign_flags
from .tables import effective_ratings

_STATE_AFTER = {
    AnnotationReview.Action.ACCEPT: Annotation.ReviewState.ACCEPTED,
    AnnotationReview.Action.CORRECT: Annotation.ReviewState.CORRECTED,
    AnnotationReview.Action.REJECT: Annotation.ReviewState.REJECTED,
}


# Flags other apps raise per video, e.g. the active critic disagreeing with the consensus: name ->
# source(campaign, records) -> {video id: detail}. Registered from their AppConfig.ready, so the data side
# never imports the model side.
VIDEO_FLAG_SOURCES: dict[str, Callable] = {}


def _require_reviewer(user) -> None:
    if not is_reviewer(user):
        raise ApplicationError("Only reviewers and admins can do this.", code="permission_denied", status_code=403)


def campaign_get_for_reviewer(*, campaign_id: int, user) -> Campaign:
    """Admins see every campaign; reviewers only those they are members of; annotators get a 403."""
    _require_reviewer(user)
    campaign = campaigns_visible_to(user=user).filter(pk=campaign_id).first()
    if campaign is None:
        raise NotFound("Campaign not found.")
    return campaign


def annotation_get_for_reviewer(*, annotation_id: int, user) -> Annotation:
    _require_reviewer(user)
    annotations = Annotation.objects.select_related("campaign").filter(pk=annotation_id)
    if not is_admin(user):
        annotations = annotations.filter(campaign__memberships__user=user)
    annotation = annotations.first()
    if annotation is None:
        raise NotFound("Annotation not found.")
    return annotation


def review_queue(*, campaign: Campaign, limit: int = 100) -> list[dict]:
    """Pending annotations, flagged ones first, then ones on items where annotators disagree, then the rest.
    In a pairwise campaign the unit is the pair: entries also name the item, `video_id` is its video A,
    and `ratings` are the stored choices."""
    if campaign.kind == Campaign.Kind.PAIRWISE:
        flagged = campaign_pair_flags(campaign=campaign)
        records, annotator_flags, sources = flagged.as_ratings, flagged.annotator_flags, {}
        stored = {record.id: record.choices for record in flagged.records}
        video_a = dict(CampaignItem.objects.filter(campaign=campaign).values_list("id", "video_id"))
    else:
        records, annotator_flags = campaign_flags(campaign=campaign)
        sources, stored, video_a = VIDEO_FLAG_SOURCES, None, None
    pending = set(
        Annotation.objects.filter(campaign=campaign, review_state=Annotation.ReviewState.PENDING,
                                  state=Annotation.State.ACTIVE)
        .values_list("id", flat=True)
    )
    patterns_by_video = defaultdict(set)
    for record in records:
        for dim, entry in record.ratings.items():
            patterns_by_video[(record.video, dim)].add(entry.get("rating"))
    disputed_videos = {video for (video, _), seen in patterns_by_video.items() if len(seen) > 1}
    video_flags = {name: source(campaign, records) for name, source in sources.items()}
    queue = []
    for record in records:
        if record.id not in pending:
            continue
        flags = list(record.flags) + sorted(annotator_flags.get(record.annotator, {}))
        flags += [name for name, videos in video_flags.items() if record.video in videos]
        disputed = record.video in disputed_videos
        rank = 0 if flags else (1 if disputed else 2)
        entry = {"annotation_id": record.id, "video_id": record.video, "annotator_id": record.annotator,
                 "ratings": record.ratings, "time_spent_ms": record.time_spent_ms, "flags": flags,
                 "disagreement": disputed, "rank": rank,
                 "video_flags": {name: videos[record.video] for name, videos in video_flags.items()
                                 if record.video in videos}}
        if stored is not None:  # a pair: record.video is the item
            entry.update(item_id=record.video, video_id=video_a[record.video], ratings=stored[record.id])
        queue.append(entry)
    queue.sort(key=lambda entry: (entry["rank"], -len(entry["flags"]), entry["annotation_id"]))
    return queue[:limit]


def _state(annotation: Annotation) -> dict:
    return {"review_state": annotation.review_state,
            "ratings": effective_ratings(annotation.ratings, annotation.corrected_ratings)}


@transaction.atomic
def annotation_review(*, annotation: Annotation, reviewer, action: str, ratings: dict | None = None,
                      reason: str = "") -> AnnotationReview:
    """Accept, correct (new ratings and a reason; the original stays) or reject. Nothing is deleted."""
    from ..services.submissions import pair_choices_validate, ratings_validate

    if action not in _STATE_AFTER:
        raise ApplicationError(f"action must be one of {', '.join(_STATE_AFTER)}.", fields={"action": "unknown"})
    reason = (reason or "").strip()
    locked = Annotation.objects.select_for_update().select_related("campaign").get(pk=annotation.pk)
    if locked.state != Annotation.State.ACTIVE:
        raise Conflict(f"This annotation was {locked.state}; there is nothing to review.", code="annotation_not_active")
    before = _state(locked)
    if action == AnnotationReview.Action.CORRECT:
        if not reason:
            raise ApplicationError("A correction needs a reason.", code="reason_required", fields={"reason": "required"})
        if ratings is None:
            raise ApplicationError("A correction needs the corrected ratings.", fields={"ratings": "required"})
        if locked.campaign.kind == Campaign.Kind.PAIRWISE:  # corrected choices name A, B or tie
            locked.corrected_ratings = pair_choices_validate(campaign=locked.campaign, choices=ratings, shown_order=None)
        else:
            locked.corrected_ratings = ratings_validate(campaign=locked.campaign, ratings=ratings)
    elif ratings is not None:
        raise ApplicationError("Only a correction carries ratings.", fields={"ratings": "only with action=correct"})
    locked.review_state = _STATE_AFTER[action]
    locked.save(update_fields=["review_state", "corrected_ratings"])
    return AnnotationReview.objects.create(
        annotation=locked, reviewer=reviewer, action=action, reason=reason, before=before, after=_state(locked)
    )


def annotation_reviews(*, annotation: Annotation) -> QuerySet[AnnotationReview]:
    return annotation.reviews.select_related("reviewer").order_by("created_at", "id")
