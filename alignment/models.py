from django.conf import settings
from django.db import models
from django.db.models import Q


class ModelVersion(models.Model):
    """A generator or critic version: where its weights are, where it came from, how good it is."""

    class Kind(models.TextChoices):
        GENERATOR = "generator"
        CRITIC = "critic"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=200)
    # Hub id or local path of the base weights, loaded with from_pretrained(id_or_path).
    base = models.CharField(max_length=500)
    adapter_path = models.CharField(max_length=500, blank=True, default="")
    # Everything needed to run it: dtype, scheduler, steps, guidance, frames, resolution, ...
    config = models.JSONField(default=dict, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    # Which snapshot, critic, data, objective and settings produced it.
    lineage = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=False)
    # A generator that a loop with the people's gate aligned: its videos are rated beside the active one's, and
    # the next loop promotes or retires it by those ratings (services.people_review).
    awaiting_review = models.BooleanField(default=False)
    created_by_job = models.ForeignKey("Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind"], condition=Q(is_active=True), name="one_active_version_per_kind"),
            models.UniqueConstraint(fields=["kind", "name"], name="version_name_unique_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


class PromotionEvent(models.Model):
    """Every promotion and rollback, with who forced it and why."""

    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="promotions")
    previous = models.ForeignKey(ModelVersion, null=True, on_delete=models.PROTECT, related_name="+")
    forced = models.BooleanField(default=False)
    reason = models.TextField(blank=True, default="")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True)


class Job(models.Model):
    """Every piece of background work is a row: status, progress, log tail, metrics, results."""

    class Kind(models.TextChoices):
        GENERATE = "generate"
        SNAPSHOT = "snapshot"
        TRAIN_CRITIC = "train_critic"
        SCORE = "score"
        ALIGN = "align"
        RETRAIN_LOOP = "retrain_loop"
        EXPAND_PROMPTS = "expand_prompts"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)
    UNFINISHED = (Status.QUEUED, Status.RUNNING)

    kind = models.CharField(max_length=32, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    params = models.JSONField(default=dict, blank=True)
    # Hash of (kind, params): an identical request while one is unfinished returns that one (the database
    # holds at most one unfinished job per key).
    dedupe_key = models.CharField(max_length=64, db_index=True)
    queue = models.CharField(max_length=16, default="cpu")
    progress = models.FloatField(default=0.0)
    phase = models.CharField(max_length=100, blank=True, default="")
    log_tail = models.TextField(blank=True, default="")
    metrics = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    # Files the job produced (checkpoints, samples, exports): [{"name", "path", "kind"}].
    artifacts = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True, default="")
    cancel_requested = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True, default="")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="stages")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "status"], name="job_kind_status_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(progress__gte=0) & Q(progress__lte=1), name="job_progress_fraction"),
            # Only one retrain loop at a time, even when two triggers race.
            models.UniqueConstraint(fields=["kind"], condition=Q(kind="retrain_loop", status__in=["queued", "running"]),
                                    name="one_unfinished_retrain_loop"),
            # Identical requests that arrive together get one job: the second insert waits for the first and fails.
            models.UniqueConstraint(fields=["dedupe_key"], condition=Q(status__in=["queued", "running"]),
                                    name="one_unfinished_job_per_dedupe_key"),
        ]

    def __str__(self) -> str:
        return f"job {self.pk} {self.kind} {self.status}"


class VideoScore(models.Model):
    """A critic's verdict on one video for one dimension: rating-word probabilities, reward, uncertainty."""

    video = models.ForeignKey("annotation.Video", on_delete=models.CASCADE, related_name="scores")
    critic = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="scores")
    dimension = models.CharField(max_length=64)
    # {"Good": p, "Normal": p, "Bad": p} at the answer position.
    probs = models.JSONField(default=dict)
    rating = models.CharField(max_length=16)
    reward = models.FloatField()
    # Entropy of probs (nats); active learning serves the most uncertain items first.
    uncertainty = models.FloatField()
    reason = models.TextField(blank=True, default="")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["video", "critic", "dimension"], name="score_unique_per_video_critic_dim"),
        ]
        indexes = [models.Index(fields=["critic", "video"], name="score_critic_video_idx")]

    def __str__(self) -> str:
        return f"score {self.video_id} {self.dimension} by {self.critic_id}: {self.rating}"


class RetrainPolicy(models.Model):
    """When the loop runs by itself and with what settings (one row, edited by admins).

    A beat task checks every `check_every_minutes` whether `min_new_annotations` ratings in `review_states`
    arrived since the newest critic (or the last loop); if so it starts a `retrain_loop` with these settings.
    """

    enabled = models.BooleanField(default=False)
    min_new_annotations = models.PositiveIntegerField(default=300)
    check_every_minutes = models.PositiveIntegerField(default=15)
    # Snapshot filter: which campaigns' ratings train the critic (empty: all).
    source_campaign_ids = models.JSONField(default=list, blank=True)
    # Which review states count as accepted (rejected ratings never count).
    review_states = models.JSONField(default=list, blank=True)
    # Where the next round of videos goes to be rated (none: generated without a campaign).
    next_round_campaign = models.ForeignKey("annotation.Campaign", null=True, blank=True, on_delete=models.SET_NULL,
                                            related_name="+")
    # {"count": N, "seed": S, "seeds": [...]} (prompt-bank draws) or {"prompt_ids": [...], "seeds": [...]}.
    candidates = models.JSONField(default=dict, blank=True)
    next_round = models.JSONField(default=dict, blank=True)
    # Which stages a loop runs (empty: all of them, in their order).
    stages = models.JSONField(default=list, blank=True)
    # Extra params passed to the train_critic and align stages.
    critic = models.JSONField(default=dict, blank=True)
    align = models.JSONField(default=dict, blank=True)
    # Who decides a new generator's promotion: "critic" (its held-out reward, at once), "people" (their ratings
    # of its videos beside the active one's, in the next loop) or "critic_first" (the critic, people on a refusal).
    generator_gate = models.CharField(max_length=16, default="critic")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)


class RetrainTrigger(models.Model):
    """Every time a loop was asked for (by the schedule or an admin): started, or skipped and why."""

    class Source(models.TextChoices):
        SCHEDULE = "schedule"
        MANUAL = "manual"

    class Outcome(models.TextChoices):
        STARTED = "started"
        SKIPPED = "skipped"

    source = models.CharField(max_length=16, choices=Source.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    new_annotations = models.PositiveIntegerField(null=True, blank=True)
    # The loop it started, or the running loop that made it skip.
    loop = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="triggers")
    reason = models.TextField(blank=True, default="")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
