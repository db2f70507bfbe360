"""Campaign quality figures for reviewers and admins: agreement, consensus, per-annotator figures."""
from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
from django.contrib.auth import get_user_model

from ..models import Campaign
from .agreement import agreement_with_others, alpha_with_ci, krippendorff_alpha, pairwise_agreement
from .consensus import consensus_labels
from .counts import counts_from_labels
from .flags import annotation_flags, gold_accuracy, low_gold_accuracy, straight_liners, thresholds_for
from .pairs import campaign_pair_annotator_figures, campaign_pair_quality
from .tables import campaign_gold, campaign_records, label_table


def _num(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(float(value), 4)


def quality_figures(table, *, method: str, samples: int = 1000, seed: int = 0) -> dict:
    """Pure: agreement and consensus per dimension from a LabelTable."""
    dimensions = {}
    for d, dim in enumerate(table.dimensions):
        levels = table.levels[dim]
        y = table.labels[:, d]
        counts = counts_from_labels(table.units, y, table.n_units, len(levels))
        estimate = alpha_with_ci(counts, level="ordinal", samples=samples, seed=seed)
        consensus = consensus_labels(method, table.units, table.coders, y, table.n_units, table.n_coders, len(levels))
        tally = Counter(int(c) for c in consensus if c >= 0)
        dimensions[dim] = {
            "alpha_ordinal": _num(estimate.alpha),
            "alpha_ci": [_num(estimate.low), _num(estimate.high)],
            "alpha_nominal": _num(krippendorff_alpha(counts, "nominal")),
            "pairwise_agreement": _num(pairwise_agreement(counts)),
            "pairable_units": estimate.units,
            "consensus_counts": {level: tally.get(i, 0) for i, level in enumerate(levels)},
        }
    return {"units": table.n_units, "annotations": int(len(table.units)), "annotators": table.n_coders,
            "consensus_method": method, "bootstrap_samples": samples, "seed": seed, "dimensions": dimensions}


def campaign_quality(*, campaign: Campaign, samples: int = 1000, seed: int = 0) -> dict:
    if campaign.kind == Campaign.Kind.PAIRWISE:
        return campaign_pair_quality(campaign=campaign, samples=samples, seed=seed)
    table = label_table(campaign_records(campaign=campaign), campaign.schema)
    return quality_figures(table, method=campaign.consensus_method, samples=samples, seed=seed)


def campaign_flags(*, campaign: Campaign, records=None) -> tuple[list, dict]:
    """(records with their flags filled in, annotator id -> annotator-level flags with details)."""
    records = records if records is not None else campaign_records(campaign=campaign)
    t = thresholds_for(campaign.quality_settings)
    first_level = campaign.schema["dimensions"][0]["levels"][0]["value"]
    annotation_flags(records, t, first_level=first_level, policy=campaign.rationale_policy)
    annotator_flags: dict[int, dict] = defaultdict(dict)
    for annotator, detail in straight_liners(records, t).items():
        annotator_flags[annotator]["straight_lining"] = detail
    for annotator, accuracy in gold_accuracy(records, campaign_gold(campaign=campaign)).items():
        if low_gold_accuracy(accuracy, t):
            annotator_flags[annotator]["low_gold_accuracy"] = accuracy["overall"]
    return records, dict(annotator_flags)


def campaign_annotator_figures(*, campaign: Campaign) -> list[dict]:
    if campaign.kind == Campaign.Kind.PAIRWISE:
        return campaign_pair_annotator_figures(campaign=campaign)
    records, annotator_flags = campaign_flags(campaign=campaign)
    table = label_table(records, campaign.schema)
    gold = gold_accuracy(records, campaign_gold(campaign=campaign))
    agreement = {}
    for d, dim in enumerate(table.dimensions):
        matches, comparisons = agreement_with_others(
            table.units, table.coders, table.labels[:, d].astype(np.int64), table.n_units, table.n_coders,
            len(table.levels[dim]),
        )
        agreement[dim] = (matches, comparisons)
    by_annotator = defaultdict(list)
    for record in records:
        by_annotator[record.annotator].append(record)
    names = dict(get_user_model().objects.filter(pk__in=list(by_annotator)).values_list("pk", "username"))
    figures = []
    for position, annotator in enumerate(table.coder_ids):
        own = by_annotator[annotator]
        seconds = sum(r.time_spent_ms for r in own) / 1000.0
        flag_counts = Counter(flag for r in own for flag in r.flags)
        per_dim = {}
        total_m = total_c = 0.0
        for dim, (matches, comparisons) in agreement.items():
            m, c = float(matches[position]), float(comparisons[position])
            per_dim[dim] = _num(m / c) if c else None
            total_m, total_c = total_m + m, total_c + c
        figures.append({
            "annotator_id": annotator,
            "username": names.get(annotator, ""),
            "annotations": len(own),
            "seconds_spent": round(seconds, 1),
            "per_hour": round(len(own) / (seconds / 3600.0), 1) if seconds else None,
            "median_seconds": round(float(np.median([r.time_spent_ms for r in own])) / 1000.0, 1),
            "gold_accuracy": gold.get(annotator, {}),
            "agreement_with_others": {"overall": _num(total_m / total_c) if total_c else None, **per_dim},
            "annotation_flags": dict(sorted(flag_counts.items())),
            "flags": annotator_flags.get(annotator, {}),
        })
    return sorted(figures, key=lambda f: f["username"])
