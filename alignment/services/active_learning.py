"""Active learning around the critic: the `score` job, campaign items ordered by critic uncertainty, and
critic-versus-human disagreements on finished items brought to the reviewers.

Next-task already serves items by -priority, so ordering by uncertainty is a matter of setting priorities.
"""
import math

from django.db import transaction

from annotation.models import Campaign, CampaignItem, Video
from annotation.services.campaigns import campaign_set_priorities
from lift.api_errors import ApplicationError

from ..models import Job, ModelVersion, VideoScore
from .scoring import require_critic, scores_compute

PRIORITY_SCALE = 1000  # mean entropy / ln 3 (0 … 1) → integer priority 0 … 1000
MAX_SCORE_VIDEOS = 100_000


def score_params_validate(params: dict) -> dict:
    """critic (default: the active one, pinned here so the job is reproducible), video_ids and/or campaign."""
    critic = require_critic(params.get("critic"))
    video_ids = params.get("video_ids") or []
    if not isinstance(video_ids, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in video_ids):
        raise ApplicationError("video_ids must be a list of video ids.", fields={"video_ids": "invalid"})
    if len(video_ids) > MAX_SCORE_VIDEOS:
        raise ApplicationError(f"At most {MAX_SCORE_VIDEOS} videos per job; split the request.")
    found = set(Video.objects.filter(pk__in=video_ids).values_list("pk", flat=True))
    if missing := [v for v in video_ids if v not in found]:
        raise ApplicationError(f"Unknown video ids: {missing[:10]}", fields={"video_ids": missing[:10]})
    campaign = params.get("campaign")
    if campaign is not None and (not isinstance(campaign, int) or not Campaign.objects.filter(pk=campaign).exists()):
        raise ApplicationError("campaign must name an existing campaign.", fields={"campaign": "unknown"})
    if not video_ids and campaign is None:
        raise ApplicationError("Name video_ids or a campaign to score.", fields={"video_ids": "required"})
    with_reasons = params.get("with_reasons", False)
    if not isinstance(with_reasons, bool):
        raise ApplicationError("with_reasons must be true or false.", fields={"with_reasons": "invalid"})
    return {"critic": critic.pk, "video_ids": sorted(set(video_ids)), "campaign": campaign, "with_reasons": with_reasons}


def score_run(*, job: Job, report) -> dict:
    params = job.params
    critic = ModelVersion.objects.get(pk=params["critic"])
    campaign = Campaign.objects.filter(pk=params["campaign"]).first() if params.get("campaign") else None
    video_ids = list(params.get("video_ids") or [])
    if campaign is not None:
        video_ids += list(CampaignItem.objects.filter(campaign=campaign).order_by("pk").values_list("video_id", flat=True))
    summary = scores_compute(critic=critic, video_ids=video_ids, report=report, job=job,
                             with_reasons=params.get("with_reasons", False))
    if campaign is not None and critic.is_active:
        summary["reprioritised"] = campaign_prioritise_by_uncertainty(campaign=campaign, critic=critic)
        summary["disagreements"] = len(critic_disagreements(campaign=campaign, critic=critic))
    return summary


def uncertainty_priority(mean_entropy: float) -> int:
    return round(PRIORITY_SCALE * min(max(mean_entropy / math.log(3), 0.0), 1.0))


def campaign_prioritise_by_uncertainty(*, campaign: Campaign, critic: ModelVersion) -> int:
    """For a campaign ordered by uncertainty: open items' priority from the critic's mean entropy over the
    dimensions (most uncertain first). Items the critic has not scored yet go to the bottom (priority 0)."""
    if campaign.task_order != Campaign.TaskOrder.UNCERTAINTY:
        return 0
    from django.db.models import Avg

    open_videos = CampaignItem.objects.filter(campaign=campaign, is_open=True).values("video_id")
    means = (VideoScore.objects.filter(critic=critic, video_id__in=open_videos)
             .values("video_id").annotate(mean=Avg("uncertainty")))
    return campaign_set_priorities(campaign=campaign,
                                   priority_by_video={row["video_id"]: uncertainty_priority(row["mean"]) for row in means})


def campaign_reorder(*, campaign: Campaign, critic: ModelVersion) -> int:
    """Re-order an uncertainty campaign by `critic`: at once from the scores it already has, and with a score
    job for the items it has not scored (which re-orders again when done). Returns the job id."""
    from .jobs import job_create

    campaign_prioritise_by_uncertainty(campaign=campaign, critic=critic)
    job, _ = job_create(kind=Job.Kind.SCORE, params={"critic": critic.pk, "campaign": campaign.pk})
    return job.pk


def critic_promoted(*, critic: ModelVersion) -> list[int]:
    """A newly active critic re-orders every active uncertainty campaign."""
    return [campaign_reorder(campaign=campaign, critic=critic)
            for campaign in Campaign.objects.filter(task_order=Campaign.TaskOrder.UNCERTAINTY, is_active=True)]


def campaign_task_order_changed(campaign: Campaign) -> None:
    """A campaign switched to uncertainty order is re-ordered by the active critic, if there is one."""
    from ..selectors import active_version

    critic = active_version(kind=ModelVersion.Kind.CRITIC)
    if critic is not None and campaign.task_order == Campaign.TaskOrder.UNCERTAINTY:
        campaign_reorder(campaign=campaign, critic=critic)


def on_critic_promoted(version: ModelVersion) -> None:
    """Called by the registry inside the promotion's transaction; the work runs once it commits."""
    if version.kind == ModelVersion.Kind.CRITIC:
        transaction.on_commit(lambda: critic_promoted(critic=ModelVersion.objects.get(pk=version.pk)))


def campaign_consensus(*, campaign: Campaign, records=None) -> dict[int, dict[str, str]]:
    """{video id: {dimension: consensus rating}} over the campaign's finished items (all k annotations in),
    by the campaign's consensus method."""
    from annotation.quality.consensus import consensus_labels
    from annotation.quality.tables import campaign_records, label_table

    finished = set(CampaignItem.objects.filter(campaign=campaign, annotations_done__gte=campaign.overlap)
                   .values_list("video_id", flat=True))
    records = [r for r in (records if records is not None else campaign_records(campaign=campaign)) if r.video in finished]
    if not records:
        return {}
    table = label_table(records, campaign.schema)
    consensus: dict[int, dict[str, str]] = {}
    for d, dim in enumerate(table.dimensions):
        levels = table.levels[dim]
        labels = consensus_labels(campaign.consensus_method, table.units, table.coders, table.labels[:, d],
                                  table.n_units, table.n_coders, len(levels))
        for unit, label in enumerate(labels):
            if label >= 0:
                consensus.setdefault(table.unit_ids[unit], {})[dim] = levels[int(label)]
    return consensus


def critic_disagreements(*, campaign: Campaign, critic: ModelVersion | None = None, records=None) -> list[dict]:
    """Finished items where the critic's rating differs from the human consensus on some dimension."""
    from ..selectors import active_version

    critic = critic or active_version(kind=ModelVersion.Kind.CRITIC)
    if critic is None:
        return []
    consensus = campaign_consensus(campaign=campaign, records=records)
    scores = VideoScore.objects.filter(critic=critic, video_id__in=list(consensus)).order_by("video_id", "dimension")
    found: dict[int, dict] = {}
    for score in scores:
        human = consensus[score.video_id].get(score.dimension)
        if human is not None and human != score.rating:
            entry = found.setdefault(score.video_id, {"video_id": score.video_id, "critic": critic.pk, "dimensions": {}})
            entry["dimensions"][score.dimension] = {"consensus": human, "critic": score.rating,
                                                    "critic_probs": score.probs}
    return list(found.values())


def critic_disagreement_flags(campaign: Campaign, records) -> dict[int, dict]:
    """The review queue's hook: {video id: detail} for videos where the active critic disagrees."""
    return {entry["video_id"]: entry["dimensions"] for entry in critic_disagreements(campaign=campaign, records=records)}
