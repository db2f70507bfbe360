"""A trained critic measured on a snapshot's test split, beside the humans and the majority baseline.

Truth per (video, dimension) is the snapshot's consensus (the campaign's method: majority or Dawid-Skene),
or the majority of the test rows where the snapshot has none; the critic is also compared with each single
annotator, next to how often the annotators agree with each other.
"""
import json
import math
from collections import Counter, defaultdict
from pathlib import Path

from .critic_data import split_rows
from .scoring import scoring_device


def _clean(value):
    """JSON for PostgreSQL: NaN (an empty table) becomes null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def majority_rating(ratings: list[str]) -> str:
    from ..engine.critic.questions import RATINGS

    counts = Counter(ratings)
    return max(RATINGS, key=lambda r: (counts.get(r, 0), RATINGS.index(r)))  # ties: the worse rating, as campaigns do


def snapshot_consensus(snapshot_dir: Path) -> dict[str, dict[str, str]]:
    """{video (snapshot path): {dimension: consensus rating}} from the snapshot's consensus table."""
    path = snapshot_dir / "data" / "consensus.jsonl"
    if not path.exists():
        return {}
    rows = (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return {row["video"]: {key[: -len("_consensus")]: value for key, value in row.items()
                           if key.endswith("_consensus") and value} for row in rows}


def held_out_labels(view_dir: Path, dimensions) -> tuple[list[tuple[str, str, str]], dict[str, list[dict]]]:
    """([(video_path, caption, snapshot video key)] in order, {dimension: [{annotator: rating} per video]})."""
    videos: dict[str, tuple[str, str]] = {}
    by_video: dict[str, dict[str, dict]] = defaultdict(lambda: defaultdict(dict))
    for row in split_rows(view_dir, "test"):
        videos.setdefault(row["video_path"], (row.get("caption") or row.get("prompt") or "", row.get("video", "")))
        for dim in dimensions:
            if row.get(f"{dim}_rating"):
                by_video[row["video_path"]][dim][row.get("annotator", "")] = row[f"{dim}_rating"]
    order = [(path, caption, key) for path, (caption, key) in videos.items()]
    return order, {dim: [dict(by_video[path][dim]) for path, _, _ in order] for dim in dimensions}


def critic_evaluate(*, critic_dir: Path, view_dir: Path, train_examples: list, consensus: dict | None = None,
                    report=None) -> dict:
    """Accuracy per dimension and mean, macro-F1, confusion, ECE, annotator agreement, majority baseline."""
    from ..engine.critic.data import ScoreItem
    from ..engine.critic.evaluate import annotator_agreement, evaluate_ratings
    from ..engine.critic.questions import DIMENSIONS
    from ..engine.critic.score import score_videos

    order, labels = held_out_labels(view_dir, DIMENSIONS)
    dims = [d for d in DIMENSIONS if any(labels[d])]
    scores = score_videos(critic_dir, [ScoreItem(path, caption) for path, caption, _ in order], dimensions=tuple(dims),
                          device=scoring_device())
    if report:
        report(phase="evaluate: scored the test split")
    truth, predicted, confidence = {}, {}, {}
    agreement = {}
    for dim in dims:
        rated = [i for i, item in enumerate(labels[dim]) if item]
        truth[dim] = [(consensus or {}).get(order[i][2], {}).get(dim) or majority_rating(list(labels[dim][i].values()))
                      for i in rated]
        predicted[dim] = [scores[i].dimensions[dim].rating for i in rated]
        confidence[dim] = [max(scores[i].dimensions[dim].probs.values()) for i in rated]
        agreement[dim] = annotator_agreement([labels[dim][i] for i in rated], predicted[dim])
    train_labels = {dim: [e.rating for e in train_examples if e.dimension == dim] for dim in dims}
    table = evaluate_ratings(truth, predicted, confidence, train_labels)
    for dim in dims:
        table[dim]["agreement"] = agreement[dim]
    per_dim = {dim: table[dim] for dim in dims}
    return _clean({
        "mean_accuracy": table["mean_accuracy"],
        "mean_macro_f1": table["mean_macro_f1"],
        "accuracy": {dim: row["accuracy"] for dim, row in per_dim.items()},
        "majority_baseline": {dim: row["majority_accuracy"] for dim, row in per_dim.items()},
        "mean_majority_baseline": sum(row["majority_accuracy"] for row in per_dim.values()) / max(len(per_dim), 1),
        "test_videos": len(order),
        "dimensions": per_dim,
    })
