"""Selectors that read a campaign's annotations into the plain tables the pure quality functions use."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models import Annotation, Campaign, CampaignItem
from ..schema import dimension_keys, level_values
from .flags import AnnotationRecord


def effective_ratings(ratings: dict, corrected: dict | None) -> dict:
    """What counts: a reviewer's correction when there is one, else the annotator's ratings."""
    return corrected if corrected else ratings


def campaign_records(*, campaign: Campaign, include_rejected: bool = False) -> list[AnnotationRecord]:
    # Withdrawn and voided annotations never count, rejected ones only on request.
    annotations = Annotation.objects.filter(campaign=campaign, state=Annotation.State.ACTIVE)
    if not include_rejected:
        annotations = annotations.exclude(review_state=Annotation.ReviewState.REJECTED)
    rows = annotations.order_by("id").values_list(
        "id", "annotator_id", "item__video_id", "time_spent_ms", "ratings", "corrected_ratings"
    )
    return [
        AnnotationRecord(id=pk, annotator=annotator, video=video, time_spent_ms=ms,
                         ratings=effective_ratings(ratings, corrected))
        for pk, annotator, video, ms, ratings, corrected in rows.iterator(chunk_size=5000)
    ]


def campaign_gold(*, campaign: Campaign) -> dict[int, dict]:
    return dict(
        CampaignItem.objects.filter(campaign=campaign, gold_answer__isnull=False).values_list("video_id", "gold_answer")
    )


@dataclass
class LabelTable:
    """Long format: one row per annotation; labels[:, d] = level index of dimension d, -1 if missing."""

    dimensions: list[str]
    levels: dict[str, list[str]]
    units: np.ndarray  # unit (video) index per row
    coders: np.ndarray  # coder (annotator) index per row
    labels: np.ndarray  # rows x dimensions, int8
    unit_ids: list[int]
    coder_ids: list[int]

    @property
    def n_units(self) -> int:
        return len(self.unit_ids)

    @property
    def n_coders(self) -> int:
        return len(self.coder_ids)


def label_table(records: list[AnnotationRecord], schema: dict) -> LabelTable:
    dims = dimension_keys(schema)
    levels = {d: level_values(schema, d) for d in dims}
    unit_pos: dict[int, int] = {}
    coder_pos: dict[int, int] = {}
    units = np.empty(len(records), dtype=np.int64)
    coders = np.empty(len(records), dtype=np.int64)
    labels = np.full((len(records), len(dims)), -1, dtype=np.int8)
    index = [{level: i for i, level in enumerate(levels[d])} for d in dims]
    for row, record in enumerate(records):
        units[row] = unit_pos.setdefault(record.video, len(unit_pos))
        coders[row] = coder_pos.setdefault(record.annotator, len(coder_pos))
        for d, dim in enumerate(dims):
            entry = record.ratings.get(dim)
            if isinstance(entry, dict):
                labels[row, d] = index[d].get(entry.get("rating"), -1)
    return LabelTable(dims, levels, units, coders, labels, list(unit_pos), list(coder_pos))
