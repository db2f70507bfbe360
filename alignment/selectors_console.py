"""Reads for the admin console: the overview aggregates and the video library.

Each figure is one grouped query, so the overview stays cheap however many rows there are; the
agreement figures (bootstrap, consensus) are left to the per-campaign quality API.
"""
from datetime import timedelta

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from annotation.models import Annotation, Campaign, CampaignItem, Video

from .models import Job, ModelVersion

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
    rows = Job.objects.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).values("queue", "status").annotate(
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
