"""Active learning around the critic: campaign items ordered by critic uncertainty (a newly promoted critic
re-orders them), and critic-versus-human disagreements on finished items brought to the reviewers.

Next-task already serves items by -priority, so ordering by uncertainty is a matter of setting priorities.
"""
import math

from django.db import transaction

from annotation.models import Campaign, CampaignItem
from annotation.services.campaigns import campaign_set_priorities

from ..models import Job, ModelVersion, VideoScore

PRIORITY_SCALE = 1000  # mean entropy / ln 3 (0 … 1) → integer priority 0 … 1000


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
