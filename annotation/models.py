from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Greatest, Least

from .schema import default_schema


class Prompt(models.Model):
    """A text prompt: the short phrase, its expanded caption and where it came from."""

    text = models.TextField()
    # Lower-cased, whitespace-folded text: the key that refuses duplicates.
    normalized = models.CharField(max_length=1000, unique=True)
    caption = models.TextField(blank=True, default="")
    categories = models.JSONField(default=dict, blank=True)
    combination_seed = models.BigIntegerField(null=True, blank=True)
    source = models.CharField(max_length=32, default="manual")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.text[:80]


class Video(models.Model):
    """A video file with its provenance. `generation_key` makes generation idempotent."""

    class Source(models.TextChoices):
        GENERATED = "generated"
        UPLOADED = "uploaded"
        IMPORTED = "imported"

    file = models.FileField(upload_to="videos/", max_length=500)
    poster = models.FileField(upload_to="posters/", max_length=500, blank=True)
    prompt = models.ForeignKey(Prompt, null=True, blank=True, on_delete=models.PROTECT, related_name="videos")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.GENERATED)
    # Which generator version made it ("generator:<id>", a hub id, or "upload"); a label, not a
    # foreign key, so the data side never depends on the model side.
    generator = models.CharField(max_length=200, blank=True, default="")
    generation_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    seed = models.BigIntegerField(null=True, blank=True)
    generation_params = models.JSONField(default=dict, blank=True)
    frames = models.PositiveIntegerField(default=0)
    fps = models.FloatField(default=0)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    duration = models.FloatField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, default="", db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"video {self.pk}"


class Campaign(models.Model):
    class RationalePolicy(models.TextChoices):
        ALWAYS = "always", "Required for every dimension"
        # In a pairwise campaign: required when a side is preferred, not for a tie.
        UNLESS_GOOD = "unless_good", "Required when the rating is not Good"

    class Kind(models.TextChoices):
        RATING = "rating", "Rate one video per item"
        PAIRWISE = "pairwise", "Compare two videos of the same prompt per item: A, B or tie per dimension"

    name = models.CharField(max_length=200, unique=True)
    # Fixed at creation: items, submissions and exports of the two kinds differ in shape.
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.RATING, db_default=Kind.RATING)
    guidelines = models.TextField(blank=True, default="")
    schema = models.JSONField(default=default_schema)
    overlap = models.PositiveSmallIntegerField(default=3)
    rationale_policy = models.CharField(
        max_length=16, choices=RationalePolicy.choices, default=RationalePolicy.ALWAYS
    )
    lease_seconds = models.PositiveIntegerField(default=600)
    is_active = models.BooleanField(default=True)
    # Quality control (annotation/quality): share of served tasks that are gold items, how the consensus
    # label is formed, and thresholds of the flags (keys of quality.flags.DEFAULT_THRESHOLDS override them).
    gold_rate = models.FloatField(default=0.0)
    consensus_method = models.CharField(
        max_length=16, choices=[("majority", "Majority (worse rating wins ties)"), ("dawid_skene", "Dawid-Skene")],
        default="majority",
    )
    quality_settings = models.JSONField(default=dict, blank=True)

    class TaskOrder(models.TextChoices):
        PRIORITY = "priority", "By item priority, then fewest annotations"
        UNCERTAINTY = "uncertainty", "Most uncertain for the active critic first (active learning)"

    task_order = models.CharField(max_length=16, choices=TaskOrder.choices, default=TaskOrder.PRIORITY)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="CampaignMembership", related_name="campaigns")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(overlap__gte=1), name="campaign_overlap_positive"),
            models.CheckConstraint(condition=Q(lease_seconds__gte=30), name="campaign_lease_at_least_30s"),
            models.CheckConstraint(condition=Q(gold_rate__gte=0) & Q(gold_rate__lte=1), name="campaign_gold_rate_fraction"),
        ]

    def __str__(self) -> str:
        return self.name


class CampaignMembership(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="campaign_memberships")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "user"], name="membership_unique")]


class CampaignItem(models.Model):
    """A video in a campaign, or in a pairwise campaign a pair of videos of the same prompt (`video` is A,
    `video_b` is B). The counters let next-task find open work with one index walk."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="items")
    video = models.ForeignKey(Video, on_delete=models.PROTECT, related_name="campaign_items")
    video_b = models.ForeignKey(Video, null=True, blank=True, on_delete=models.PROTECT, related_name="pair_items")
    priority = models.IntegerField(default=0)
    # Rating items: {dimension: level}; pair items: {dimension: "A" | "B" | "tie"}.
    gold_answer = models.JSONField(null=True, blank=True)
    # Annotations submitted plus live leases; an item is open while this is below the overlap.
    slots_taken = models.PositiveIntegerField(default=0)
    annotations_done = models.PositiveIntegerField(default=0)
    is_open = models.BooleanField(default=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "video"], condition=Q(video_b__isnull=True),
                                    name="item_video_once_per_campaign"),
            # A pair once per campaign, in either order.
            models.UniqueConstraint(Least("video", "video_b"), Greatest("video", "video_b"), "campaign",
                                    condition=Q(video_b__isnull=False), name="item_pair_once_per_campaign"),
            models.CheckConstraint(condition=Q(video_b__isnull=True) | ~Q(video_b=F("video")),
                                   name="item_pair_of_two_videos"),
        ]
        indexes = [
            # The next-task walk: open items of a campaign by priority, then fewest annotations.
            models.Index(
                fields=["campaign", "-priority", "annotations_done", "id"],
                condition=Q(is_open=True), name="item_next_task_idx",
            ),
        ]


class Assignment(models.Model):
    """A lease of one item to one annotator. One row per (item, annotator): re-leasing revives it."""

    class State(models.TextChoices):
        LEASED = "leased"
        SUBMITTED = "submitted"
        SKIPPED = "skipped"
        EXPIRED = "expired"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="assignments")
    item = models.ForeignKey(CampaignItem, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments")
    state = models.CharField(max_length=16, choices=State.choices, default=State.LEASED)
    leased_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    skip_reason = models.TextField(blank=True, default="")

    class ShownOrder(models.TextChoices):
        AB = "AB", "A on the left, B on the right"
        BA = "BA", "B on the left, A on the right"

    # Pair items: the left/right order drawn at random for this lease (kept for position-bias analysis);
    # blank for rating items.
    shown_order = models.CharField(max_length=2, choices=ShownOrder.choices, blank=True, default="", db_default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "annotator"], name="assignment_item_annotator_once"),
            models.UniqueConstraint(
                fields=["campaign", "annotator"], condition=Q(state="leased"),
                name="assignment_one_live_lease_per_campaign",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "expires_at"], condition=Q(state="leased"), name="assignment_live_idx"),
        ]


class Annotation(models.Model):
    class ReviewState(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        CORRECTED = "corrected"
        REJECTED = "rejected"

    assignment = models.OneToOneField(Assignment, on_delete=models.PROTECT, related_name="annotation")
    # No single-column indexes on campaign and annotator: the (campaign, created_at) index and the
    # (annotator, idempotency_key) constraint lead with them and serve the same look-ups, and every
    # index is written again by each submit (bench/RESULTS.md, the annotation API).
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="annotations", db_index=False)
    item = models.ForeignKey(CampaignItem, on_delete=models.PROTECT, related_name="annotations")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations",
                                  db_index=False)
    # {dimension key: {"rating": "Good"|"Normal"|"Bad", "rationale": str}}; in a pairwise campaign
    # {dimension key: {"choice": "A"|"B"|"tie", "rationale": str}}, A and B of the item whatever side they
    # were shown on (the assignment's shown_order says which).
    ratings = models.JSONField()
    time_spent_ms = models.PositiveIntegerField(default=0)
    idempotency_key = models.CharField(max_length=128)
    # sha256 of the canonical request body: a replayed key with another body is refused.
    request_hash = models.CharField(max_length=64)
    review_state = models.CharField(max_length=16, choices=ReviewState.choices, default=ReviewState.PENDING)

    class State(models.TextChoices):
        ACTIVE = "active"
        WITHDRAWN = "withdrawn"  # by its annotator
        VOIDED = "voided"  # by an admin

    # Annotations are never deleted (a database trigger refuses it): a withdrawn or voided one stays,
    # with its audit trail, and leaves consensus, quality figures and snapshots.
    # db_default too: rows written by bulk loads (COPY) and database tools start active as well.
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE, db_default=State.ACTIVE)
    # A reviewer's correction, same shape as `ratings`; the annotator's original stays in `ratings`.
    corrected_ratings = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class NextState(models.TextChoices):
        LEASED = "leased"
        NOTHING_LEFT = "nothing_left"
        CAMPAIGN_PAUSED = "campaign_paused"

    # What a submit that asked for the next task (?next=1) answered about it, so that its replay answers
    # the same; blank when the submit did not ask. db_default: rows written by bulk loads, database tools or
    # the previous release during a rolling deploy start blank too.
    next_state = models.CharField(max_length=16, choices=NextState.choices, blank=True, default="", db_default="")
    next_assignment = models.ForeignKey(Assignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["annotator", "idempotency_key"], name="annotation_idempotency_key_once"),
        ]
        indexes = [models.Index(fields=["campaign", "created_at"], name="annotation_campaign_time_idx")]


class AnnotationReview(models.Model):
    """One reviewer decision on an annotation: an append-only audit record (who, when, before, after)."""

    class Action(models.TextChoices):
        ACCEPT = "accept"
        CORRECT = "correct"
        REJECT = "reject"

    annotation = models.ForeignKey(Annotation, on_delete=models.PROTECT, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=16, choices=Action.choices)
    reason = models.TextField(blank=True, default="")
    # {"review_state": ..., "ratings": effective ratings} before and after the decision.
    before = models.JSONField()
    after = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["annotation", "created_at"], name="review_annotation_time_idx")]


class AnnotationAudit(models.Model):
    """Append-only record of a withdrawal or voiding (who, when, why, before, after); a database
    trigger refuses UPDATE and DELETE on this table."""

    class Action(models.TextChoices):
        WITHDRAW = "withdraw"
        VOID = "void"

    annotation = models.ForeignKey(Annotation, on_delete=models.PROTECT, related_name="audit")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=16, choices=Action.choices)
    reason = models.TextField()
    # {"state", "review_state", "ratings": effective ratings} before and after.
    before = models.JSONField()
    after = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["annotation", "created_at"], name="audit_annotation_time_idx")]


class Snapshot(models.Model):
    """A numbered, immutable LiFT-HRA export of the annotations chosen by `filters`, cut at one moment."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        READY = "ready"
        FAILED = "failed"

    number = models.PositiveIntegerField(unique=True)
    filters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    counts = models.JSONField(default=dict, blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    folder_path = models.CharField(max_length=500, blank=True, default="")
    archive_path = models.CharField(max_length=500, blank=True, default="")
    # The cut: the highest annotation id visible when the export's consistent read began, so a re-run
    # of the same snapshot reads the same rows.
    cut_max_id = models.BigIntegerField(null=True, blank=True)
    # The job that builds it (a plain id: the data side never depends on the model side).
    job_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    error = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"snapshot {self.number}"


class PromptCategory(models.Model):
    """A list the prompt bank draws from: subjects (human, land animal, ...), places, or actions."""

    class Role(models.TextChoices):
        SUBJECT = "subject"
        PLACE = "place"
        ACTION = "action"

    name = models.CharField(max_length=100, unique=True)
    role = models.CharField(max_length=16, choices=Role.choices)
    items = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.role}: {self.name}"


class UserSession(AbstractBaseSession):
    """A browser session that knows its user, so revoking a user's access ends their sessions too (the
    session engine is annotation.sessions; Django's documented way to extend database sessions)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
