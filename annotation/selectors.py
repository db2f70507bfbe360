"""Reads. Every selector that takes a user returns only what that user may see."""
from functools import cache

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from lift.api_errors import NotFound
from lift.prepared import PreparedStatement

from .models import Annotation, Assignment, Campaign, CampaignItem, CampaignMembership, Prompt, Video
from .roles import is_admin, is_reviewer
from .rows import Columns, instances, select_list


def campaigns_visible_to(*, user) -> QuerySet[Campaign]:
    campaigns = Campaign.objects.all()
    if not is_admin(user):
        campaigns = campaigns.filter(memberships__user=user)
    return campaigns.order_by("-created_at", "id")


def _caller_may_see(campaign_id_column: str) -> str:
    """SQL: the caller (%(user)s) is an admin (%(admin)s) or a member of the campaign in that column."""
    membership = connection.ops.quote_name(CampaignMembership._meta.db_table)
    return (f"(%(admin)s OR EXISTS (SELECT 1 FROM {membership} m "
            f"WHERE m.campaign_id = {campaign_id_column} AND m.user_id = %(user)s))")


# The order items are served in (and prefetched in): best priority, then fewest annotations.
ITEMS_BEST_FIRST = "ORDER BY i.priority DESC, i.annotations_done, i.id "


@cache
def _campaign_statement() -> tuple[Columns, PreparedStatement]:
    campaign = Columns(Campaign, "c")
    return campaign, PreparedStatement(
        "campaign_for_user", f"SELECT {campaign.sql} FROM {campaign.table} WHERE c.id = %(id)s AND {_caller_may_see('c.id')}")


def campaign_get_for_user(*, campaign_id: int, user) -> Campaign:
    """The campaign if the caller may see it (admins, members), in one prepared statement: every next-task
    starts here. Unknown and not-yours look the same: no leak of which campaigns exist."""
    columns, statement = _campaign_statement()
    with connection.cursor() as cursor:
        statement.execute(cursor, {"id": campaign_id, "user": user.pk, "admin": is_admin(user)})
        row = cursor.fetchone()
    if row is None:
        raise NotFound("Campaign not found.")
    return columns.instance(row)


def campaign_progress_for(*, campaigns: list[Campaign], user) -> dict[int, dict]:
    """The caller's own progress per campaign: done, skipped, and items still open to them."""
    ids = [c.pk for c in campaigns]
    counts = {cid: {"done": 0, "skipped": 0, "remaining": 0} for cid in ids}
    rows = (
        Assignment.objects.filter(campaign_id__in=ids, annotator=user, state__in=["submitted", "skipped"])
        .values("campaign_id", "state")
        .annotate(n=Count("id"))
    )
    for row in rows:
        counts[row["campaign_id"]]["done" if row["state"] == "submitted" else "skipped"] = row["n"]
    touched = Assignment.objects.filter(item=OuterRef("pk"), annotator=user, state__in=["submitted", "skipped"])
    open_rows = (
        CampaignItem.objects.filter(campaign_id__in=ids, is_open=True)
        .filter(~Exists(touched))
        .values("campaign_id")
        .annotate(n=Count("id"))
    )
    for row in open_rows:
        counts[row["campaign_id"]]["remaining"] = row["n"]
    return counts


@cache
def item_columns() -> tuple[Columns, ...]:
    """An item with what a lease shows of it: CampaignItem i, its Video v, v's Prompt p, the pair's Video vb."""
    return Columns(CampaignItem, "i"), Columns(Video, "v"), Columns(Prompt, "p"), Columns(Video, "vb")


@cache
def item_joins() -> str:
    """FROM-clause joins from CampaignItem i to the tables of item_columns()."""
    _, video, prompt, video_b = item_columns()
    return (f"JOIN {video.table} ON v.id = i.video_id LEFT JOIN {prompt.table} ON p.id = v.prompt_id "
            f"LEFT JOIN {video_b.table} ON vb.id = i.video_b_id")


def item_from_row(row) -> CampaignItem:
    """The item of a row that selected item_columns(), its videos and prompt attached (no lazy loads later)."""
    item, video, prompt, video_b = instances(row, *item_columns())
    video.prompt = prompt
    item.video, item.video_b = video, video_b
    return item


@cache
def _assignment_columns() -> tuple[Columns, Columns]:
    return Columns(Assignment, "a"), Columns(Campaign, "c")


@cache
def _assignment_statement() -> PreparedStatement:
    assignment, campaign = _assignment_columns()
    return PreparedStatement(
        "assignment_for_user",
        f"SELECT {select_list(assignment, campaign)} FROM {assignment.table} JOIN {campaign.table} ON c.id = a.campaign_id "
        f"WHERE a.id = %(id)s AND a.annotator_id = %(user)s AND {_caller_may_see('a.campaign_id')}",
    )


def assignment_get_for_user(*, assignment_id: int, user) -> Assignment:
    """The caller's own assignment with its campaign (what a submit, skip or extend reads), in one prepared
    statement: every submit starts here. Someone removed from the campaign keeps no way in through an old lease."""
    with connection.cursor() as cursor:
        _assignment_statement().execute(cursor, {"id": assignment_id, "user": user.pk, "admin": is_admin(user)})
        row = cursor.fetchone()
    if row is None:
        raise NotFound("Assignment not found.")
    assignment, campaign = instances(row, *_assignment_columns())
    assignment.campaign, assignment.annotator = campaign, user
    return assignment


def annotations_for_reader(*, campaign: Campaign, user) -> QuerySet[Annotation]:
    """Admins and the campaign's reviewers read all; annotators only their own (blind)."""
    annotations = Annotation.objects.filter(campaign=campaign).select_related("annotator", "item__video")
    if not is_reviewer(user):
        annotations = annotations.filter(annotator=user)
    return annotations.order_by("id")


def annotation_get_own(*, annotation_id: int, user) -> Annotation:
    """The caller's own annotation, while they are still a member of its campaign."""
    annotation = Annotation.objects.filter(pk=annotation_id, annotator=user, campaign__memberships__user=user).first()
    if annotation is None:
        raise NotFound("Annotation not found.")
    return annotation


def annotation_get(*, annotation_id: int) -> Annotation:
    """Any annotation by id (the caller has checked that the user may act on every annotation)."""
    annotation = Annotation.objects.filter(pk=annotation_id).first()
    if annotation is None:
        raise NotFound("Annotation not found.")
    return annotation


def video_for_media_path(*, path: str, user) -> Video | None:
    """The video owning a media file, if the user may see it (admins, or members of a campaign with it)."""
    videos = Video.objects.filter(Q(file=path) | Q(poster=path))
    if not is_admin(user):
        # Video A of a pair is the item's `video`, video B its `video_b`.
        member = Q(campaign_items__campaign__memberships__user=user) | Q(pair_items__campaign__memberships__user=user)
        videos = videos.filter(member)
    return videos.first()


@cache
def _next_item_hint_statement() -> PreparedStatement:
    item = item_columns()[0]
    assignments = connection.ops.quote_name(Assignment._meta.db_table)
    return PreparedStatement("next_item_hint", (
        f"SELECT {select_list(*item_columns())} FROM {item.table} {item_joins()} "
        f"WHERE i.campaign_id = %(campaign)s AND i.is_open AND i.id <> %(exclude)s AND NOT EXISTS ("
        f"SELECT 1 FROM {assignments} a WHERE a.item_id = i.id AND a.annotator_id = %(user)s) "
        f"{ITEMS_BEST_FIRST}LIMIT 1"
    ))


def next_item_hint(*, campaign: Campaign, user, exclude_item_id: int | None) -> CampaignItem | None:
    """The item the caller would most likely be served next (for prefetching; nothing is leased): open, never
    touched by them, best first."""
    with connection.cursor() as cursor:
        _next_item_hint_statement().execute(cursor, {"campaign": campaign.pk, "user": user.pk,
                                                     "exclude": exclude_item_id or 0})  # ids start at 1
        row = cursor.fetchone()
    return item_from_row(row) if row else None
