"""Flags on annotations and annotators, as pure functions over plain records.

Per annotation: `too_fast` (time spent below a threshold), `short_rationale` (a rationale that is
required but shorter than a threshold), `duplicate_rationale` (near-identical rationale text, by
Jaccard similarity of character shingles of the normalised text, to one the same annotator wrote for
a *different* video). Per annotator: `straight_lining` (one rating pattern far more often than the
rest of the campaign uses it) and `low_gold_accuracy`.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

DEFAULT_THRESHOLDS = {
    "min_time_ms": 5000,  # faster than this cannot be watching a video and writing reasons
    "min_rationale_chars": 12,
    "duplicate_jaccard": 0.8,
    "duplicate_min_chars": 20,  # shorter texts ("No obvious problems.") are the short-rationale flag's business
    "duplicate_window": 300,  # compare with this many of the annotator's most recent annotations
    "straightline_min_annotations": 10,
    "straightline_share": 0.8,  # the annotator's most frequent rating pattern covers at least this share ...
    "straightline_ratio": 2.0,  # ... and is this many times its share among everyone else
    "gold_min_items": 3,
    "gold_min_accuracy": 0.6,
    # Pairwise campaigns: an annotator's share of LEFT among choices that prefer a side is tested against a
    # fair coin (exact binomial); flagged with at least this many such choices and a p-value below this.
    "position_bias_min_choices": 10,
    "position_bias_max_p": 0.01,
}

ANNOTATION_FLAGS = ("too_fast", "short_rationale", "duplicate_rationale")
ANNOTATOR_FLAGS = ("straight_lining", "low_gold_accuracy", "position_bias")


def thresholds_for(overrides: dict | None) -> dict:
    merged = dict(DEFAULT_THRESHOLDS)
    merged.update({k: v for k, v in (overrides or {}).items() if k in DEFAULT_THRESHOLDS})
    return merged


@dataclass
class AnnotationRecord:
    """What the flags need to know about one annotation."""

    id: int
    annotator: int
    video: int
    time_spent_ms: int
    ratings: dict  # {dimension: {"rating", "rationale"}}
    flags: list[str] = field(default_factory=list)


_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalise_text(text: str) -> str:
    return _NON_WORD.sub(" ", text.lower()).strip()


def shingles(text: str, size: int = 5) -> set[str]:
    text = normalise_text(text)
    if len(text) <= size:
        return {text} if text else set()
    return {text[i:i + size] for i in range(len(text) - size + 1)}


def jaccard(a: set, b: set) -> float:
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


def rationale_text(ratings: dict) -> str:
    return " ".join((ratings[key].get("rationale") or "") for key in sorted(ratings) if isinstance(ratings[key], dict))


def is_too_fast(record: AnnotationRecord, t: dict) -> bool:
    return record.time_spent_ms < t["min_time_ms"]


def has_short_rationale(record: AnnotationRecord, t: dict, *, first_level: str, policy: str) -> bool:
    for entry in record.ratings.values():
        rationale = (entry.get("rationale") or "").strip()
        required = policy == "always" or entry.get("rating") != first_level
        if (required or rationale) and len(rationale) < t["min_rationale_chars"]:
            return True
    return False


def duplicate_rationale_ids(records: list[AnnotationRecord], t: dict) -> set[int]:
    """Ids of annotations whose rationale nearly repeats one by the same annotator for another video."""
    flagged: set[int] = set()
    by_annotator: dict[int, list[AnnotationRecord]] = defaultdict(list)
    for record in records:
        by_annotator[record.annotator].append(record)
    for own in by_annotator.values():
        own = sorted(own, key=lambda r: r.id)[-t["duplicate_window"]:]
        texts = [rationale_text(r.ratings) for r in own]
        sets = [shingles(text) if len(normalise_text(text)) >= t["duplicate_min_chars"] else None for text in texts]
        for i in range(len(own)):
            if sets[i] is None:
                continue
            for j in range(i):
                if sets[j] is None or own[i].video == own[j].video:
                    continue
                if jaccard(sets[i], sets[j]) >= t["duplicate_jaccard"]:
                    flagged.update((own[i].id, own[j].id))
    return flagged


def annotation_flags(records: list[AnnotationRecord], t: dict, *, first_level: str, policy: str) -> None:
    """Fill `record.flags` in place."""
    duplicates = duplicate_rationale_ids(records, t)
    for record in records:
        record.flags = [
            name for name, hit in (
                ("too_fast", is_too_fast(record, t)),
                ("short_rationale", has_short_rationale(record, t, first_level=first_level, policy=policy)),
                ("duplicate_rationale", record.id in duplicates),
            ) if hit
        ]


def rating_pattern(ratings: dict) -> tuple:
    return tuple((key, ratings[key].get("rating")) for key in sorted(ratings) if isinstance(ratings[key], dict))


def straight_liners(records: list[AnnotationRecord], t: dict) -> dict[int, dict]:
    """Annotator id -> {pattern, share, others_share} for those who straight-line."""
    patterns = Counter(rating_pattern(r.ratings) for r in records)
    per_annotator: dict[int, Counter] = defaultdict(Counter)
    for record in records:
        per_annotator[record.annotator][rating_pattern(record.ratings)] += 1
    result = {}
    total = len(records)
    for annotator, own in per_annotator.items():
        n = sum(own.values())
        if n < t["straightline_min_annotations"]:
            continue
        pattern, count = own.most_common(1)[0]
        share = count / n
        others_n = total - n
        others_share = (patterns[pattern] - count) / others_n if others_n else 0.0
        if share >= t["straightline_share"] and share >= t["straightline_ratio"] * others_share:
            result[annotator] = {"pattern": dict(pattern), "share": round(share, 4),
                                 "others_share": round(others_share, 4)}
    return result


def gold_accuracy(records: list[AnnotationRecord], gold_by_video: dict[int, dict]) -> dict[int, dict]:
    """Annotator id -> {dimension: {"correct", "total", "accuracy"}, "overall": {...}} on gold items."""
    tallies: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for record in records:
        gold = gold_by_video.get(record.video)
        if not gold:
            continue
        for dim, expected in gold.items():
            entry = record.ratings.get(dim)
            if not isinstance(entry, dict):
                continue
            hit = int(entry.get("rating") == expected)
            tallies[record.annotator][dim][0] += hit
            tallies[record.annotator][dim][1] += 1
            tallies[record.annotator]["overall"][0] += hit
            tallies[record.annotator]["overall"][1] += 1
    return {
        annotator: {dim: {"correct": c, "total": n, "accuracy": round(c / n, 4)} for dim, (c, n) in dims.items()}
        for annotator, dims in tallies.items()
    }


def low_gold_accuracy(accuracy: dict, t: dict) -> bool:
    overall = accuracy.get("overall")
    return bool(overall and overall["total"] >= t["gold_min_items"] and overall["accuracy"] < t["gold_min_accuracy"])
