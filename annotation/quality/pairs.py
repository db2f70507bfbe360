"""Quality of pairwise campaigns: agreement over A / tie / B, consensus per pair, position bias per annotator,
gold pairs. The figures are pure functions over plain records; `pair_records` and the two campaign-level
functions at the end read the database.

Units are items (pairs), not videos: one video can be in several pairs. Choices are stored as A / B of the
item; the lease's shown order says which of them was on the left, so a preference for one side of the
screen shows up whatever the videos were.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from ..models import Annotation, Campaign, CampaignItem
from ..schema import PAIR_CHOICES, dimension_keys, pair_shown_from_choice
from .agreement import agreement_with_others, alpha_with_ci, pairwise_agreement
from .consensus import dawid_skene
from .counts import counts_from_labels
from .flags import AnnotationRecord, annotation_flags, gold_accuracy, low_gold_accuracy, straight_liners, thresholds_for
from .tables import effective_ratings

TIE = PAIR_CHOICES.index("tie")


@dataclass
class PairRecord:
    """One pairwise annotation: choices {dimension: {"choice": A|B|tie, "rationale"}} and the order shown."""

    id: int
    annotator: int
    item: int
    time_spent_ms: int
    choices: dict
    shown_order: str  # "AB": A was on the left; "BA": B was

    def as_annotation_record(self) -> AnnotationRecord:
        """The shape the rating flags read, the choice in place of the rating (units are items)."""
        return AnnotationRecord(id=self.id, annotator=self.annotator, video=self.item, time_spent_ms=self.time_spent_ms,
                                ratings={dim: {"rating": entry.get("choice"), "rationale": entry.get("rationale", "")}
                                         for dim, entry in self.choices.items() if isinstance(entry, dict)})


def pair_label_table(records: list[PairRecord], dims: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list, list]:
    """(unit index, coder index, labels rows x dims with A=0, tie=1, B=2 and -1 missing, item ids, coder ids)."""
    unit_pos: dict[int, int] = {}
    coder_pos: dict[int, int] = {}
    units = np.empty(len(records), dtype=np.int64)
    coders = np.empty(len(records), dtype=np.int64)
    labels = np.full((len(records), len(dims)), -1, dtype=np.int64)
    index = {choice: i for i, choice in enumerate(PAIR_CHOICES)}
    for row, record in enumerate(records):
        units[row] = unit_pos.setdefault(record.item, len(unit_pos))
        coders[row] = coder_pos.setdefault(record.annotator, len(coder_pos))
        for d, dim in enumerate(dims):
            entry = record.choices.get(dim)
            if isinstance(entry, dict):
                labels[row, d] = index.get(entry.get("choice"), -1)
    return units, coders, labels, list(unit_pos), list(coder_pos)


def pair_majority(counts: np.ndarray) -> np.ndarray:
    """Per pair the most frequent of A / tie / B; when the most frequent are level, "tie" (no side wins a
    split vote); -1 where a pair has no votes."""
    counts = np.asarray(counts)
    top = counts.max(axis=1, keepdims=True)
    level = (counts == top).sum(axis=1) > 1
    winner = np.where(level, TIE, counts.argmax(axis=1))
    winner[counts.sum(axis=1) == 0] = -1
    return winner


def pair_majorities(records: list[PairRecord], dims: list[str]) -> dict[int, dict[str, str | None]]:
    """{item: {dimension: "A" | "tie" | "B", or None without votes}}: each pair's majority (a split vote is a tie)."""
    units, _, labels, item_ids, _ = pair_label_table(records, dims)
    majorities = {item: {} for item in item_ids}
    for d, dim in enumerate(dims):
        winners = pair_majority(counts_from_labels(units, labels[:, d], len(item_ids), len(PAIR_CHOICES)))
        for u, item in enumerate(item_ids):
            majorities[item][dim] = PAIR_CHOICES[winners[u]] if winners[u] >= 0 else None
    return majorities


def binomial_two_sided_p(k: int, n: int) -> float:
    """Exact two-sided p-value of k successes in n fair coin flips (the distribution is symmetric, so twice
    the smaller tail, capped at 1)."""
    if n == 0:
        return 1.0
    extreme = max(k, n - k)
    log_half = n * math.log(0.5)
    tail = sum(math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + log_half)
               for i in range(extreme, n + 1))
    return min(1.0, 2.0 * tail)


def wilson_interval(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval of a share (95% by default)."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def position_bias(left: int, sided: int, *, min_choices: int, max_p: float) -> dict:
    """How far an annotator's share of choices for the LEFT video, among choices that prefer a side, lies
    from one half: bias = share - 0.5 with a Wilson interval (shifted by 0.5) and an exact binomial test
    against a fair coin; flagged when there are at least `min_choices` such choices and p < `max_p`."""
    share = left / sided if sided else float("nan")
    low, high = wilson_interval(left, sided)
    p = binomial_two_sided_p(left, sided)
    return {"left": left, "sided_choices": sided, "left_share": share, "bias": share - 0.5,
            "bias_ci": [low - 0.5, high - 0.5], "p_value": p, "flagged": bool(sided >= min_choices and p < max_p)}


def left_counts(records: list[PairRecord]) -> dict[int, tuple[int, int]]:
    """Annotator id -> (choices for the left video, choices that prefer a side), over all dimensions."""
    tallies: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for record in records:
        for entry in record.choices.values():
            choice = entry.get("choice") if isinstance(entry, dict) else None
            if choice in ("A", "B") and record.shown_order:
                tallies[record.annotator][0] += pair_shown_from_choice(choice, record.shown_order) == "left"
                tallies[record.annotator][1] += 1
    return {annotator: (left, sided) for annotator, (left, sided) in tallies.items()}


def _num(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(float(value), 4)


def pair_consensus(units, coders, labels_d, n_units: int, n_coders: int, *, method: str) -> np.ndarray:
    if method == "dawid_skene":
        return dawid_skene(units, coders, labels_d, n_units, n_coders, len(PAIR_CHOICES))[0]
    return pair_majority(counts_from_labels(units, labels_d, n_units, len(PAIR_CHOICES)))


def pair_quality_figures(records: list[PairRecord], dims: list[str], *, method: str, samples: int = 1000,
                         seed: int = 0) -> dict:
    """Pure: per dimension Krippendorff's α over nominal A / tie / B with a bootstrap interval, pairwise
    agreement and the consensus tally; per pair its consensus."""
    units, coders, labels, item_ids, coder_ids = pair_label_table(records, dims)
    dimensions, consensus = {}, {item: {} for item in item_ids}
    for d, dim in enumerate(dims):
        counts = counts_from_labels(units, labels[:, d], len(item_ids), len(PAIR_CHOICES))
        estimate = alpha_with_ci(counts, level="nominal", samples=samples, seed=seed)
        labels_d = pair_consensus(units, coders, labels[:, d], len(item_ids), len(coder_ids), method=method)
        tally = Counter(int(c) for c in labels_d if c >= 0)
        dimensions[dim] = {
            "alpha_nominal": _num(estimate.alpha),
            "alpha_ci": [_num(estimate.low), _num(estimate.high)],
            "pairwise_agreement": _num(pairwise_agreement(counts)),
            "pairable_units": estimate.units,
            "consensus_counts": {choice: tally.get(i, 0) for i, choice in enumerate(PAIR_CHOICES)},
        }
        for u, item in enumerate(item_ids):
            consensus[item][dim] = PAIR_CHOICES[labels_d[u]] if labels_d[u] >= 0 else None
    return {"kind": "pairwise", "units": len(item_ids), "annotations": len(records), "annotators": len(coder_ids),
            "consensus_method": method, "bootstrap_samples": samples, "seed": seed, "dimensions": dimensions,
            "consensus": consensus}


# Database side ------------------------------------------------------------------------------------------


def pair_records(*, campaign: Campaign, include_rejected: bool = False) -> list[PairRecord]:
    """Active annotations of a pairwise campaign (a reviewer's correction where there is one)."""
    annotations = Annotation.objects.filter(campaign=campaign, state=Annotation.State.ACTIVE)
    if not include_rejected:
        annotations = annotations.exclude(review_state=Annotation.ReviewState.REJECTED)
    rows = annotations.order_by("id").values_list("id", "annotator_id", "item_id", "time_spent_ms", "ratings",
                                                  "corrected_ratings", "assignment__shown_order")
    return [PairRecord(id=pk, annotator=annotator, item=item, time_spent_ms=ms,
                       choices=effective_ratings(ratings, corrected), shown_order=order)
            for pk, annotator, item, ms, ratings, corrected, order in rows.iterator(chunk_size=5000)]


def campaign_pair_gold(*, campaign: Campaign) -> dict[int, dict]:
    """Item id -> {dimension: A|B|tie} of the campaign's gold pairs."""
    return dict(CampaignItem.objects.filter(campaign=campaign, gold_answer__isnull=False)
                .values_list("id", "gold_answer"))


def campaign_pair_quality(*, campaign: Campaign, samples: int = 1000, seed: int = 0) -> dict:
    figures = pair_quality_figures(pair_records(campaign=campaign), dimension_keys(campaign.schema),
                                   method=campaign.consensus_method, samples=samples, seed=seed)
    figures["consensus"] = [{"item": item, **choices} for item, choices in figures["consensus"].items()]
    return figures


@dataclass
class PairFlags:
    records: list[PairRecord]
    as_ratings: list[AnnotationRecord]  # the same annotations in the rating flags' shape, their flags filled in
    annotator_flags: dict[int, dict]
    gold: dict[int, dict]
    bias: dict[int, dict]
    thresholds: dict


def campaign_pair_flags(*, campaign: Campaign) -> PairFlags:
    """Flags of a pairwise campaign: per annotation the rating flags read on the choices (too fast, short or
    repeated reasons); per annotator straight-lining, low gold accuracy and position bias."""
    records = pair_records(campaign=campaign)
    t = thresholds_for(campaign.quality_settings)
    as_ratings = [record.as_annotation_record() for record in records]
    # "tie" plays the part of "Good" for the unless_good policy: a reason is needed when a side is preferred.
    annotation_flags(as_ratings, t, first_level="tie", policy=campaign.rationale_policy)
    gold = gold_accuracy(as_ratings, campaign_pair_gold(campaign=campaign))
    annotator_flags: dict[int, dict] = defaultdict(dict)
    for annotator, detail in straight_liners(as_ratings, t).items():
        annotator_flags[annotator]["straight_lining"] = detail
    for annotator, accuracy in gold.items():
        if low_gold_accuracy(accuracy, t):
            annotator_flags[annotator]["low_gold_accuracy"] = accuracy["overall"]
    bias = {annotator: position_bias(left, sided, min_choices=t["position_bias_min_choices"],
                                     max_p=t["position_bias_max_p"])
            for annotator, (left, sided) in left_counts(records).items()}
    for annotator, figures in bias.items():
        if figures["flagged"]:
            annotator_flags[annotator]["position_bias"] = _num(figures["bias"])
    return PairFlags(records, as_ratings, dict(annotator_flags), gold, bias, t)


def campaign_pair_annotator_figures(*, campaign: Campaign) -> list[dict]:
    """Per annotator: counts and time, agreement with the others' consensus per dimension, gold accuracy,
    position bias, and flags (the rating flags on choices, plus position_bias)."""
    from django.contrib.auth import get_user_model

    flagged = campaign_pair_flags(campaign=campaign)
    records, as_ratings, gold = flagged.records, flagged.as_ratings, flagged.gold
    dims = dimension_keys(campaign.schema)
    units, coders, labels, item_ids, coder_ids = pair_label_table(records, dims)
    # Against the others' majority under the pairs' rule: a split vote among the others is a tie.
    agreement = {dim: agreement_with_others(units, coders, labels[:, d], len(item_ids), len(coder_ids),
                                            len(PAIR_CHOICES), majority=pair_majority) for d, dim in enumerate(dims)}
    by_annotator = defaultdict(list)
    for record in as_ratings:
        by_annotator[record.annotator].append(record)
    names = dict(get_user_model().objects.filter(pk__in=list(by_annotator)).values_list("pk", "username"))
    figures = []
    for position, annotator in enumerate(coder_ids):
        own = by_annotator[annotator]
        bias = flagged.bias.get(annotator) or position_bias(0, 0, min_choices=flagged.thresholds[
            "position_bias_min_choices"], max_p=flagged.thresholds["position_bias_max_p"])
        per_dim, total_m, total_c = {}, 0.0, 0.0
        for dim, (matches, comparisons) in agreement.items():
            m, c = float(matches[position]), float(comparisons[position])
            per_dim[dim] = _num(m / c) if c else None
            total_m, total_c = total_m + m, total_c + c
        seconds = sum(r.time_spent_ms for r in own) / 1000.0
        figures.append({
            "annotator_id": annotator,
            "username": names.get(annotator, ""),
            "annotations": len(own),
            "seconds_spent": round(seconds, 1),
            "median_seconds": round(float(np.median([r.time_spent_ms for r in own])) / 1000.0, 1),
            "gold_accuracy": gold.get(annotator, {}),
            "agreement_with_others": {"overall": _num(total_m / total_c) if total_c else None, **per_dim},
            "position_bias": {key: (_num(value) if isinstance(value, float) else
                                    [_num(v) for v in value] if isinstance(value, list) else value)
                              for key, value in bias.items()},
            "annotation_flags": dict(sorted(Counter(flag for r in own for flag in r.flags).items())),
            "flags": flagged.annotator_flags.get(annotator, {}),
        })
    return sorted(figures, key=lambda f: f["username"])
