"""What an align job trains on and how it is measured: candidate rewards (human consensus over the critic),
the real corpus, and held-out reward, ratings and video statistics of a generator version.

The readers here need no torch, so the web process uses them to refuse a request before it is queued.
"""
import statistics
from pathlib import Path

from annotation.models import Campaign, Snapshot, Video
from lift.api_errors import ApplicationError

from ..models import ModelVersion, VideoScore
from ..selectors import critic_dimensions, scored_video_ids, video_rewards


def snapshot_ready(*, snapshot_id) -> Snapshot:
    snapshot = Snapshot.objects.filter(pk=snapshot_id).first() if isinstance(snapshot_id, int) else None
    if snapshot is None:
        raise ApplicationError("snapshot must name a snapshot.", fields={"snapshot": "unknown"})
    if snapshot.status != Snapshot.Status.READY or not Path(snapshot.folder_path, "data").is_dir():
        raise ApplicationError(f"Snapshot {snapshot.number} is {snapshot.status}, not ready.", fields={"snapshot": "not ready"})
    return snapshot


def consensus_ratings(*, snapshot: Snapshot | None, videos: list[Video]) -> dict[int, dict[str, str]]:
    """{video id: {dimension: consensus rating}} for the videos the snapshot rated on every dimension."""
    if snapshot is None or not videos or not snapshot.manifest.get("dimensions"):
        return {}
    import pyarrow.parquet as pq

    from annotation.snapshots.hra_format import video_key

    dims = list(snapshot.manifest.get("dimensions", []))
    table = pq.read_table(Path(snapshot.folder_path) / "data" / "consensus.parquet",
                          columns=["video", *(f"{d}_consensus" for d in dims)]).to_pylist()
    by_key = {Path(row["video"]).stem: {d: row[f"{d}_consensus"] for d in dims} for row in table}
    found = {}
    for video in videos:
        ratings = by_key.get(video_key(video.sha256, video.pk))
        if ratings and all(ratings.values()):
            found[video.pk] = ratings
    return found


def snapshot_pair_consensus(*, snapshot: Snapshot, split: str) -> dict[int, dict[str, str | None]]:
    """{pair item: {dimension: "A" | "tie" | "B" (None without votes)}} of the snapshot's compared pairs in
    `split`: each dimension's majority, a split vote a tie."""
    import pyarrow.parquet as pq

    from annotation.quality.pairs import PairRecord, pair_majorities

    dims = list(snapshot.manifest.get("pair_dimensions", []))
    path = Path(snapshot.folder_path) / "data" / "pairs.parquet"
    if not dims or not path.is_file():
        return {}
    rows = pq.read_table(path, columns=["pair", "annotator", "split", *(f"{d}_choice" for d in dims)]).to_pylist()
    annotators: dict[str, int] = {}
    records = [PairRecord(id=index, annotator=annotators.setdefault(row["annotator"], len(annotators)), item=row["pair"],
                          time_spent_ms=0, choices={d: {"choice": row[f"{d}_choice"]} for d in dims}, shown_order="")
               for index, row in enumerate(rows) if row["split"] == split]
    return pair_majorities(records, dims)


def snapshot_preferences(*, snapshot: Snapshot, split: str = "train") -> list[dict]:
    """The pairs people compared in the snapshot's `split`, each with its overall preference:
    [{"item", "preferred": "A" | "B", "consensus": {dimension: A | tie | B}}]: the side that wins more
    dimensions than the other (a pair they win equally teaches DPO nothing and is left out)."""
    from ..engine.critic.preference import overall_preference

    preferences = []
    for item, consensus in sorted(snapshot_pair_consensus(snapshot=snapshot, split=split).items()):
        if preferred := overall_preference(consensus):
            preferences.append({"item": item, "preferred": preferred, "consensus": consensus})
    return preferences


def critic_ratings(*, critic: ModelVersion, video_ids: list[int]) -> dict[int, dict[str, str]]:
    """{video id: {dimension: the critic's rating}} for videos scored on every one of its dimensions."""
    complete = scored_video_ids(critic=critic, video_ids=video_ids)
    ratings: dict[int, dict[str, str]] = {}
    rows = VideoScore.objects.filter(critic=critic, video_id__in=complete, dimension__in=critic_dimensions(critic))
    for video_id, dimension, rating in rows.values_list("video_id", "dimension", "rating"):
        ratings.setdefault(video_id, {})[dimension] = rating
    return ratings


def candidate_scores(*, critic: ModelVersion, snapshot: Snapshot | None, videos: list[Video]) -> dict[int, dict]:
    """{video id: {"ratings", "reward", "source"}}; human consensus takes precedence over the critic.

    A human-rated video's reward maps its consensus ratings the way the critic maps its probabilities
    (Good 0.9 / Normal 0.2 / Bad 0.05, mean over dimensions), so both sources share one scale.
    """
    from ..engine.critic.questions import RATING_REWARDS

    human = consensus_ratings(snapshot=snapshot, videos=videos)
    machine_ids = [v.pk for v in videos if v.pk not in human]
    machine = critic_ratings(critic=critic, video_ids=machine_ids)
    rewards = video_rewards(critic=critic, video_ids=list(machine))
    scores = {}
    for video in videos:
        if video.pk in human:
            ratings = human[video.pk]
            reward = sum(RATING_REWARDS[r] for r in ratings.values()) / len(ratings)
            scores[video.pk] = {"ratings": ratings, "reward": reward, "source": "human"}
        elif video.pk in machine:  # a preference critic gives no rating words: its reward alone weighs the sample
            ratings = machine[video.pk] if all(machine[video.pk].values()) else None
            scores[video.pk] = {"ratings": ratings, "reward": rewards[video.pk]["reward"], "source": "critic"}
    return scores


def real_corpus(*, spec: dict) -> list[int]:
    """Video ids of the real/reference corpus: ingested videos named by id, or a campaign's non-generated ones."""
    if not spec:
        return []
    if not isinstance(spec, dict) or set(spec) - {"video_ids", "campaign"} or len(spec) != 1:
        raise ApplicationError('real must be {"video_ids": [...]} or {"campaign": id}.', fields={"real": "invalid"})
    if "campaign" in spec:
        campaign = Campaign.objects.filter(pk=spec["campaign"]).first() if isinstance(spec["campaign"], int) else None
        if campaign is None:
            raise ApplicationError("real.campaign must name a campaign.", fields={"real": "unknown campaign"})
        return sorted(Video.objects.filter(campaign_items__campaign=campaign)
                      .exclude(source=Video.Source.GENERATED).values_list("pk", flat=True).distinct())
    ids = spec["video_ids"]
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise ApplicationError("real.video_ids must be a list of video ids.", fields={"real": "invalid"})
    found = set(Video.objects.filter(pk__in=ids).values_list("pk", flat=True))
    if missing := sorted(set(ids) - found):
        raise ApplicationError(f"Unknown real video ids: {missing[:10]}", fields={"real": missing[:10]})
    return sorted(found)


def videos_captioned(*, video_ids: list[int], what: str) -> list[Video]:
    """The videos in id order; each needs a caption (its prompt) to be trained on."""
    from .scoring import video_caption

    videos = list(Video.objects.filter(pk__in=video_ids).select_related("prompt").order_by("pk"))
    if uncaptioned := [v.pk for v in videos if not video_caption(v)]:
        raise ApplicationError(f"{what} videos without a prompt or caption: {uncaptioned[:10]}",
                               fields={what: uncaptioned[:10]})
    return videos


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def heldout_summary(*, critic: ModelVersion, video_ids: list[int]) -> dict:
    """Mean reward, per-dimension mean reward and rating counts, and mean video statistics of scored videos."""
    from ..engine.align.video_stats import video_stats
    from ..engine.video_io import read_frames
    from .scoring import local_video_files

    rewards = video_rewards(critic=critic, video_ids=video_ids)
    dimensions = {}
    for dim in critic_dimensions(critic):
        entries = [r["dimensions"][dim] for r in rewards.values() if dim in r["dimensions"]]
        counts = {"Good": 0, "Normal": 0, "Bad": 0}
        for entry in entries:
            if entry["rating"]:  # a preference critic scores without rating words
                counts[entry["rating"]] = counts.get(entry["rating"], 0) + 1
        dimensions[dim] = {"mean_reward": _mean([e["reward"] for e in entries]), "ratings": counts}
    videos = list(Video.objects.filter(pk__in=video_ids).select_related("prompt").order_by("pk"))
    stats: dict[str, list[float]] = {}
    judged = _WorldJudgement()
    with local_video_files(videos) as paths:
        for video in videos:
            frames = read_frames(paths[video.pk])
            for name, value in video_stats(frames).items():
                stats.setdefault(name, []).append(value)
            judged.add(video, frames)
    values = [r["reward"] for r in rewards.values()]
    return {"mean_reward": _mean(values), "reward_sd": statistics.stdev(values) if len(values) > 1 else None,
            "count": len(values), "dimensions": dimensions,
            "rewards_by_sample": {f"{v.prompt_id}:{v.seed}": rewards[v.pk]["reward"] for v in videos if v.pk in rewards},
            "video_stats": {name: _mean(values) for name, values in stats.items()}, "videos": sorted(rewards),
            "judged": judged.summary()}


class _WorldJudgement:
    """The pixel judge's view of held-out videos of the synthetic world: an independent measure of a
    generator (the critic being what it was aligned to). None unless every prompt is of the world."""

    def __init__(self):
        self.ratings: list[dict[str, str]] = []
        self.foreign = False

    def add(self, video: Video, frames) -> None:
        from ..engine.synthetic import PromptParseError, judge, parse_prompt
        from .judging import video_world_prompt

        try:
            self.ratings.append(judge(frames, parse_prompt(video_world_prompt(video))).ratings)
        except PromptParseError:
            self.foreign = True

    def summary(self) -> dict | None:
        if self.foreign or not self.ratings:
            return None
        from ..engine.critic.questions import RATING_REWARDS as value

        dims = list(self.ratings[0])
        per_dim = {d: {"mean_reward": _mean([value[r[d]] for r in self.ratings]),
                       "ratings": {level: sum(r[d] == level for r in self.ratings) for level in value}} for d in dims}
        return {"mean_reward": _mean([sum(value[r[d]] for d in dims) / len(dims) for r in self.ratings]),
                "dimensions": per_dim}


def heldout_change(before: dict, after: dict) -> dict:
    """After minus before, for the mean reward, each dimension's mean reward and each video statistic."""
    def diff(a, b):
        return None if a is None or b is None else b - a

    judged = (before.get("judged") or {}).get("mean_reward"), (after.get("judged") or {}).get("mean_reward")
    return {
        "mean_reward": diff(before["mean_reward"], after["mean_reward"]),
        "reward_paired": _paired(before.get("rewards_by_sample"), after.get("rewards_by_sample")),
        "judged_mean_reward": diff(*judged),
        "dimensions": {d: diff(before["dimensions"][d]["mean_reward"], after["dimensions"].get(d, {}).get("mean_reward"))
                       for d in before["dimensions"]},
        "video_stats": {k: diff(v, after["video_stats"].get(k)) for k, v in before["video_stats"].items()},
    }


def _paired(before: dict | None, after: dict | None) -> dict | None:
    """The rise per held-out sample (the same prompt and seed before and after): both sides start from the same
    noise, so the spread of these differences is the noise of the rise itself, not the spread of the videos."""
    shared = sorted((before or {}).keys() & (after or {}).keys())
    if len(shared) < 2:
        return None
    rises = [after[key] - before[key] for key in shared]
    return {"count": len(rises), "mean": _mean(rises), "sd": statistics.stdev(rises)}
