"""Campaign administration: create, edit, fill with videos, manage members."""
from django.contrib.auth import get_user_model
from django.db import transaction

from lift.api_errors import ApplicationError

from ..models import Campaign, CampaignItem, CampaignMembership, Video
from ..schema import PAIR_CHOICES, default_schema, dimension_keys, schema_errors

EDITABLE_FIELDS = ("name", "guidelines", "overlap", "rationale_policy", "lease_seconds", "is_active",
                   "task_order", "gold_rate", "consensus_method", "quality_settings")
# Called as listener(campaign) after a committed change of a campaign's task order: the model side
# registers one (alignment's AppConfig.ready) that re-orders the items by its active critic.
TASK_ORDER_LISTENERS: list = []
# Thresholds that are shares of something: they must lie in [0, 1]; the others are counts or times (>= 0).
SHARE_THRESHOLDS = ("duplicate_jaccard", "straightline_share", "gold_min_accuracy", "position_bias_max_p")


def _check_schema(schema) -> None:
    errors = schema_errors(schema)
    if errors:
        raise ApplicationError(f"Invalid schema: {errors[0]}", code="invalid_schema", fields={"schema": errors})


def _check_quality_settings(settings) -> None:
    """quality_settings override the flag thresholds: known names, numbers, shares within [0, 1]."""
    from ..quality.flags import DEFAULT_THRESHOLDS

    if not isinstance(settings, dict):
        raise ApplicationError("quality_settings must be an object of thresholds.", fields={"quality_settings": "invalid"})
    errors = {}
    for key, value in settings.items():
        if key not in DEFAULT_THRESHOLDS:
            errors[key] = f"unknown threshold; known: {', '.join(DEFAULT_THRESHOLDS)}"
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0:
            errors[key] = "must be a number of at least 0"
        elif key in SHARE_THRESHOLDS and value > 1:
            errors[key] = "must lie between 0 and 1"
    if errors:
        raise ApplicationError(f"Invalid quality_settings: {next(iter(errors))}: {next(iter(errors.values()))}.",
                               fields={"quality_settings": errors})


def _check_gold_rate(rate) -> None:
    # Below 1: at least some served tasks must be real items, or the campaign never finishes.
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
        raise ApplicationError("gold_rate must be a share in [0, 1).", fields={"gold_rate": "out of range"})


def _check_settings(settings: dict) -> None:
    if "quality_settings" in settings:
        _check_quality_settings(settings["quality_settings"])
    if "gold_rate" in settings:
        _check_gold_rate(settings["gold_rate"])


def campaign_create(*, name: str, created_by=None, schema: dict | None = None, kind: str = Campaign.Kind.RATING,
                    **settings) -> Campaign:
    """`kind` (rating or pairwise) is fixed here: the items and submissions of the two kinds differ in shape.
    A pairwise campaign asks its schema's dimensions as A / tie / B (the levels are not used)."""
    schema = schema or default_schema()
    _check_schema(schema)
    if kind not in Campaign.Kind.values:
        raise ApplicationError(f"kind must be one of {', '.join(Campaign.Kind.values)}.", fields={"kind": "unknown"})
    if Campaign.objects.filter(name=name).exists():
        raise ApplicationError(f"A campaign named {name!r} already exists.", code="duplicate", fields={"name": "taken"})
    unknown = set(settings) - set(EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError(f"Unknown campaign settings: {', '.join(sorted(unknown))}")
    _check_settings(settings)
    campaign = Campaign(name=name, schema=schema, kind=kind, created_by=created_by, **settings)
    campaign.full_clean()
    campaign.save()
    return campaign


@transaction.atomic
def campaign_update(*, campaign: Campaign, **changes) -> Campaign:
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError(f"These fields cannot be changed: {', '.join(sorted(unknown))}")
    _check_settings(changes)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    order_changed = "task_order" in changes and changes["task_order"] != campaign.task_order
    for field, value in changes.items():
        setattr(campaign, field, value)
    campaign.full_clean()
    campaign.save()
    if "overlap" in changes:
        # A changed overlap reopens or closes items; recompute from the counters.
        items = CampaignItem.objects.filter(campaign=campaign)
        items.filter(slots_taken__lt=campaign.overlap).update(is_open=True)
        items.filter(slots_taken__gte=campaign.overlap).update(is_open=False)
    if order_changed:
        for listener in TASK_ORDER_LISTENERS:
            transaction.on_commit(lambda listener=listener: listener(campaign))
    return campaign


@transaction.atomic
def campaign_add_videos(
    *, campaign: Campaign, video_ids: list[int], priority: int = 0, gold_answers: dict | None = None
) -> list[CampaignItem]:
    """Add videos as items; videos already in the campaign are left as they are (idempotent)."""
    if campaign.kind == Campaign.Kind.PAIRWISE:
        raise ApplicationError("This campaign is pairwise: add pairs of videos, not single videos.",
                               code="wrong_campaign_kind", fields={"video_ids": "pairwise campaign"})
    found = set(Video.objects.filter(pk__in=video_ids).values_list("pk", flat=True))
    missing = [vid for vid in video_ids if vid not in found]
    if missing:
        raise ApplicationError(f"Unknown video ids: {missing[:10]}", code="unknown_video", fields={"video_ids": missing[:10]})
    gold_answers = gold_answers or {}
    items = [
        CampaignItem(campaign=campaign, video_id=vid, priority=priority, gold_answer=gold_answers.get(vid))
        for vid in dict.fromkeys(video_ids)
    ]
    CampaignItem.objects.bulk_create(items, ignore_conflicts=True)
    return list(CampaignItem.objects.filter(campaign=campaign, video_id__in=video_ids))


def _check_pair_gold(*, campaign: Campaign, gold: dict) -> str | None:
    dims = dimension_keys(campaign.schema)
    if not isinstance(gold, dict) or set(gold) - set(dims) or not gold:
        return f"a gold answer names some of {', '.join(dims)}"
    if any(value not in PAIR_CHOICES for value in gold.values()):
        return f"a gold answer per dimension is one of {', '.join(PAIR_CHOICES)}"
    return None


@transaction.atomic
def campaign_add_pairs(
    *, campaign: Campaign, pairs: list[tuple[int, int]], priority: int = 0, gold_answers: dict | None = None
) -> list[CampaignItem]:
    """Add pairs (video A, video B) of the same prompt as items of a pairwise campaign. A pair already in the
    campaign, in either order, is left as it is (idempotent). `gold_answers`: (A, B) -> {dimension: A|B|tie}."""
    if campaign.kind != Campaign.Kind.PAIRWISE:
        raise ApplicationError("Only a pairwise campaign takes pairs of videos.", code="wrong_campaign_kind",
                               fields={"pairs": "not a pairwise campaign"})
    pairs = list(dict.fromkeys((int(a), int(b)) for a, b in pairs))
    gold_answers = gold_answers or {}
    ids = {vid for pair in pairs for vid in pair}
    prompts = dict(Video.objects.filter(pk__in=ids).values_list("pk", "prompt_id"))
    errors: dict[str, str] = {}
    for a, b in pairs:
        problem = None
        if a not in prompts or b not in prompts:
            problem = f"unknown video id {a if a not in prompts else b}"
        elif a == b:
            problem = "a pair needs two different videos"
        elif prompts[a] is None or prompts[a] != prompts[b]:
            problem = "both videos of a pair must be made for the same prompt"
        elif (a, b) in gold_answers:
            problem = _check_pair_gold(campaign=campaign, gold=gold_answers[(a, b)])
        if problem:
            errors[f"{a},{b}"] = problem
    if errors:
        first = next(iter(errors.items()))
        raise ApplicationError(f"pair {first[0]}: {first[1]}", code="invalid_pairs", fields={"pairs": errors})
    items = [CampaignItem(campaign=campaign, video_id=a, video_b_id=b, priority=priority,
                          gold_answer=gold_answers.get((a, b))) for a, b in pairs]
    CampaignItem.objects.bulk_create(items, ignore_conflicts=True)
    wanted = {frozenset(pair) for pair in pairs}
    found = CampaignItem.objects.filter(campaign=campaign, video_id__in=ids, video_b_id__in=ids).order_by("id")
    return [item for item in found if frozenset((item.video_id, item.video_b_id)) in wanted]


def campaign_member_add(*, campaign: Campaign, user) -> CampaignMembership:
    membership, _ = CampaignMembership.objects.get_or_create(campaign=campaign, user=user)
    return membership


def campaign_member_remove(*, campaign: Campaign, user) -> None:
    CampaignMembership.objects.filter(campaign=campaign, user=user).delete()


def user_by_username(*, username: str):
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ApplicationError(f"No user named {username!r}.", code="unknown_user", status_code=404)
    return user


@transaction.atomic
def campaign_set_priorities(*, campaign: Campaign, priority_by_video: dict[int, int], default: int = 0) -> int:
    """Set the priority of the campaign's open items (next-task serves the highest first); items whose
    video is not in `priority_by_video` get `default`. Returns how many items were updated."""
    items = list(CampaignItem.objects.select_for_update().filter(campaign=campaign, is_open=True).only("id", "video_id", "priority"))
    changed = []
    for item in items:
        priority = int(priority_by_video.get(item.video_id, default))
        if item.priority != priority:
            item.priority = priority
            changed.append(item)
    CampaignItem.objects.bulk_update(changed, ["priority"], batch_size=1000)
    return len(changed)
