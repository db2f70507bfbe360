"""A trained critic measured on a snapshot's test split, beside the humans and the majority baseline.

Truth per (video, dimension) is the annotators' majority on the test rows; the critic is also compared
with each single annotator, next to how often the annotators agree with each other.
"""
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
    return max(RATINGS, key=lambda r: (counts.get(r, 0), -RATINGS.index(r)))  # ties: the first in RATINGS


def test_labels(view_dir: Path, dimensions) -> tuple[list[tuple[str, str]], dict[str, list[dict]]]:
    """([(video_path, caption)] in order, {dimension: [{annotator: rating} per video]})."""
    videos: dict[str, str] = {}
    by_video: dict[str, dict[str, dict]] = defaultdict(lambda: defaultdict(dict))
    for row in split_rows(view_dir, "test"):
        videos.setdefault(row["video_path"], row.get("caption") or row.get("prompt") or "")
        for dim in dimensions:
            if row.get(f"{dim}_rating"):
                by_video[row["video_path"]][dim][row.get("annotator", "")] = row[f"{dim}_rating"]
    order = list(videos.items())
    return order, {dim: [dict(by_video[path][dim]) for path, _ in order] for dim in dimensions}


def critic_evaluate(*, critic_dir: Path, view_dir: Path, train_examples: list, report=None) -> dict:
    """Accuracy per dimension and mean, macro-F1, confusion, ECE, annotator agreement, majority baseline."""
    from ..engine.critic.data import ScoreItem
    from ..engine.critic.evaluate import annotator_agreement, evaluate_ratings
    from ..engine.critic.questions import DIMENSIONS
    from ..engine.critic.score import score_videos

    order, labels = test_labels(view_dir, DIMENSIONS)
    dims = [d for d in DIMENSIONS if any(labels[d])]
    scores = score_videos(critic_dir, [ScoreItem(path, caption) for path, caption in order], dimensions=tuple(dims),
                          device=scoring_device())
    if report:
        report(phase="evaluate: scored the test split")
    truth, predicted, confidence = {}, {}, {}
    agreement = {}
    for dim in dims:
        rated = [i for i, item in enumerate(labels[dim]) if item]
        truth[dim] = [majority_rating(list(labels[dim][i].values())) for i in rated]
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
