"""Reads of the model side: jobs, model versions, critic scores, retrain triggers, and the admin
console's overview and video library. Writes live in `services/` (and the retrain loop in `loop/`).

Each console figure is one grouped query, so the overview stays cheap however many rows there are; the
agreement figures (bootstrap, consensus) are left to the per-campaign quality API.
"""
from datetime import timedelta

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from annotation.models import Annotation, Campaign, CampaignItem, Video
from lift.api_errors import NotFound

from .models import Job, ModelVersion, RetrainTrigger, VideoScore


# --- jobs ---------------------------------------------------------------------------------------------

def job_get(*, job_id: int) -> Job:
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        raise NotFound("Job not found.")
    return job


def jobs_list(*, kind: str = "", status: str = "", limit: int = 100) -> QuerySet[Job]:
    """Newest first, optionally of one kind and status."""
    jobs = Job.objects.all()
    if kind:
        jobs = jobs.filter(kind=kind)
    if status:
        jobs = jobs.filter(status=status)
    return jobs.order_by("-created_at")[:limit]


def unfinished_loop() -> Job | None:
    return Job.objects.filter(kind=Job.Kind.RETRAIN_LOOP, status__in=Job.UNFINISHED).first()


def retrain_triggers_list(*, limit: int = 50) -> QuerySet[RetrainTrigger]:
    return RetrainTrigger.objects.order_by("-at")[:limit]


# --- model versions -----------------------------------------------------------------------------------

def active_version(*, kind: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(kind=kind, is_active=True).first()


def version_get(*, version_id: int, kind: str = "") -> ModelVersion:
    versions = ModelVersion.objects.filter(pk=version_id)
    if kind:
        versions = versions.filter(kind=kind)
    version = versions.first()
    if version is None:
        raise NotFound(f"{kind.capitalize() or 'Model'} version not found.")
    return version


def versions_list(*, kind: str = "") -> QuerySet[ModelVersion]:
    versions = ModelVersion.objects.filter(kind=kind) if kind else ModelVersion.objects.all()
    return versions.order_by("kind", "-created_at")


# --- critic scores ------------------------------------------------------------------------------------

def critic_dimensions(critic: ModelVersion) -> list[str]:
    """The dimensions the critic rates (its config's, else every dimension the engine knows)."""
    from .engine.critic.questions import DIMENSIONS

    return list((critic.config or {}).get("dimensions") or DIMENSIONS)


def is_preference_critic(critic: ModelVersion) -> bool:
    """A Bradley–Terry critic (a scalar score per dimension, trained on compared pairs), not a rating one."""
    return (critic.config or {}).get("critic_kind") == "preference"


def scored_video_ids(*, critic: ModelVersion, video_ids: list[int]) -> set[int]:
    """Videos that already have a score on every one of the critic's dimensions."""
    dims = critic_dimensions(critic)
    rows = (VideoScore.objects.filter(critic=critic, video_id__in=video_ids, dimension__in=dims)
            .values("video_id").annotate(n=Count("id")).filter(n=len(dims)))
    return {row["video_id"] for row in rows}


def video_rewards(*, critic: ModelVersion, video_ids: list[int]) -> dict[int, dict]:
    """{video id: {"reward": mean over dimensions, "dimensions": {dim: {...}}}} for scored videos only."""
    out: dict[int, dict] = {}
    rows = VideoScore.objects.filter(critic=critic, video_id__in=list(video_ids)).order_by("video_id", "dimension")
    for row in rows:
        entry = out.setdefault(row.video_id, {"dimensions": {}})
        entry["dimensions"][row.dimension] = {"rating": row.rating, "reward": row.reward, "probs": row.probs,
                                              "uncertainty": row.uncertainty, "reason": row.reason}
    for entry in out.values():
        rewards = [d["reward"] for d in entry["dimensions"].values()]
        entry["reward"] = sum(rewards) / len(rewards)
    return out


# --- the admin console --------------------------------------------------------------------------------

THROUGHPUT_DAYS = 14
# A worker counts as seen when one of its jobs sent a heartbeat this recently.
WORKER_SEEN_WINDOW = timedelta(hours=1)


def annotation_throughput(*, days: int = THROUGHPUT_DAYS, now=None) -> list[dict]:
    """Annotations per calendar day (UTC) for the last `days` days, oldest first, days without any as 0."""
    today = (now or timezone.now()).date()
    first = today - timedelta(days=days - 1)
    rows = (
        Annotation.objects.filter(created_at__date__gte=first)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("id"))
    )
    by_day = {row["day"]: row["n"] for row in rows}
    return [{"day": (first + timedelta(days=i)).isoformat(), "annotations": by_day.get(first + timedelta(days=i), 0)}
            for i in range(days)]


def campaign_progress_overview() -> list[dict]:
    """Per campaign: items, annotations done against the target of items × overlap, members."""
    campaigns = (
        Campaign.objects.annotate(
            n_items=Count("items", distinct=True),
            done=Sum("items__annotations_done"),
        )
        .order_by("-is_active", "-created_at", "id")
        .values("id", "name", "is_active", "overlap", "n_items", "done")
    )
    members = dict(
        Campaign.objects.annotate(n=Count("memberships")).values_list("id", "n")
    )
    out = []
    for c in campaigns:
        target = c["n_items"] * c["overlap"]
        done = c["done"] or 0
        out.append({
            "id": c["id"], "name": c["name"], "is_active": c["is_active"], "items": c["n_items"],
            "overlap": c["overlap"], "annotations": done, "target": target,
            "fraction": round(min(done / target, 1.0), 4) if target else 0.0, "members": members.get(c["id"], 0),
        })
    return out


def _version_summary(version: ModelVersion | None) -> dict | None:
    if version is None:
        return None
    return {"id": version.pk, "kind": version.kind, "name": version.name, "base": version.base,
            "metrics": version.metrics, "lineage": version.lineage, "created_at": version.created_at}


def active_models() -> dict:
    active = {v.kind: v for v in ModelVersion.objects.filter(is_active=True)}
    counts = dict(ModelVersion.objects.values("kind").annotate(n=Count("id")).values_list("kind", "n"))
    return {kind: {"active": _version_summary(active.get(kind)), "versions": counts.get(kind, 0)}
            for kind in ModelVersion.Kind.values}


def workers_overview(*, now=None) -> list[dict]:
    """Workers seen lately (by their jobs' heartbeats) and the jobs each is running now."""
    since = (now or timezone.now()) - WORKER_SEEN_WINDOW
    jobs = (
        Job.objects.exclude(worker="")
        .filter(Q(status=Job.Status.RUNNING) | Q(heartbeat_at__gte=since))
        .order_by("worker", "-heartbeat_at")
        .values("id", "kind", "status", "queue", "phase", "progress", "worker", "heartbeat_at", "started_at")
    )
    workers: dict[str, dict] = {}
    for job in jobs:
        worker = workers.setdefault(job["worker"], {"worker": job["worker"], "last_heartbeat": None, "running": []})
        if job["heartbeat_at"] and (worker["last_heartbeat"] is None or job["heartbeat_at"] > worker["last_heartbeat"]):
            worker["last_heartbeat"] = job["heartbeat_at"]
        if job["status"] == Job.Status.RUNNING:
            worker["running"].append({k: job[k] for k in ("id", "kind", "queue", "phase", "progress", "started_at")})
    return sorted(workers.values(), key=lambda w: (not w["running"], w["worker"]))


def job_counts() -> dict:
    """Unfinished jobs per queue and status, and failures in the last day."""
    day_ago = timezone.now() - timedelta(days=1)
    rows = Job.objects.filter(status__in=Job.UNFINISHED).values("queue", "status").annotate(
        n=Count("id"))
    counts: dict = {"queued": {}, "running": {}}
    for row in rows:
        counts[row["status"]][row["queue"]] = row["n"]
    counts["failed_last_day"] = Job.objects.filter(status=Job.Status.FAILED, finished_at__gte=day_ago).count()
    return counts


def console_overview(*, now=None) -> dict:
    return {
        "throughput": annotation_throughput(now=now),
        "campaigns": campaign_progress_overview(),
        "models": active_models(),
        "workers": workers_overview(now=now),
        "jobs": job_counts(),
    }


def video_library(*, job: Job | None = None, generator: str = "", source: str = "", prompt: str = "",
                  not_in_campaign: int | None = None, limit: int = 200) -> tuple[list[Video], int]:
    """Videos to add to a campaign: all, those a generate job made, or by generator, source, prompt text.

    Returns (the first `limit`, newest first, the total that matched)."""
    videos = Video.objects.select_related("prompt")
    if job is not None:
        videos = videos.filter(pk__in=[v for v in (job.result or {}).get("video_ids", []) if isinstance(v, int)])
    if generator:
        videos = videos.filter(generator=generator)
    if source:
        videos = videos.filter(source=source)
    if prompt:
        videos = videos.filter(prompt__text__icontains=prompt)
    if not_in_campaign is not None:
        videos = videos.exclude(pk__in=CampaignItem.objects.filter(campaign_id=not_in_campaign).values("video_id"))
    total = videos.count()
    videos = videos.annotate(campaigns=Count("campaign_items", distinct=True)).order_by(F("created_at").desc(), "-id")
    return list(videos[:limit]), total
