"""The pairwise part of a snapshot: `data/pairs.{parquet,jsonl}` (one row per pairwise annotation, its own
configuration in the card) and, as an option, VideoAlign's training CSVs (one row per pair, its consensus).

VideoAlign's layout, as its datasets/train/README.md documents it (KwaiVGI/VideoAlign): columns `path_A,
path_B, prompt, VQ, MQ, TA, fps_A, num_frames_A, fps_B, num_frames_B`, labels "A", "B" or "same"; its
`--data_dir` is the folder the paths are relative to, here the snapshot folder (videos/... as written with
include_videos). Mapping: fidelity -> VQ (visual quality), motion -> MQ (motion quality), semantic -> TA
(text alignment). A tie is "same".
"""
from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa

from ..models import Campaign, CampaignItem
from ..quality.pairs import PairRecord, pair_quality_figures
from ..quality.tables import effective_ratings
from . import hra_format as hra
from .writers import TableWriter

VIDEOALIGN_DIMENSIONS = {"VQ": "fidelity", "MQ": "motion", "TA": "semantic"}
VIDEOALIGN_LABELS = {"A": "A", "B": "B", "tie": "same"}
VIDEOALIGN_COLUMNS = ["path_A", "path_B", "prompt", "VQ", "MQ", "TA", "fps_A", "num_frames_A", "fps_B", "num_frames_B"]
PAIR_COLUMNS = ("id", "item_id", "annotator_id", "annotator__username", "time_spent_ms", "review_state", "ratings",
                "corrected_ratings", "assignment__shown_order")
ITEM_COLUMNS = ("id", "video_id", "video__file", "video__sha256", "video__fps", "video__frames", "video_b_id",
                "video_b__file", "video_b__sha256", "video_b__fps", "video_b__frames", "video__prompt__text",
                "video__prompt__caption")


def pair_dimensions(filters: dict) -> list[str]:
    """The dimension keys of the selected pairwise campaigns, in campaign order."""
    campaigns = Campaign.objects.filter(kind=Campaign.Kind.PAIRWISE).order_by("id")
    if filters["campaign_ids"]:
        campaigns = campaigns.filter(pk__in=filters["campaign_ids"])
    dims: list[str] = []
    for schema in campaigns.values_list("schema", flat=True):
        dims += [dim["key"] for dim in schema["dimensions"] if dim["key"] not in dims]
    return dims


def pairs_schema(dims: list[str]) -> pa.Schema:
    fields = [("pair", pa.int64()), ("video_A", pa.string()), ("video_A_sha256", pa.string()),
              ("video_B", pa.string()), ("video_B_sha256", pa.string()), ("prompt", pa.string()),
              ("caption", pa.string()), ("split", pa.string()), ("annotator", pa.string()),
              ("time_spent_ms", pa.int64()), ("review_state", pa.string()), ("shown_order", pa.string())]
    for dim in dims:
        fields += [(f"{dim}_choice", pa.string()), (f"{dim}_rationale", pa.string())]
    return pa.schema(fields)


def _item_info(item_ids: list[int], seed: int, chunk_size: int) -> dict[int, dict]:
    """Per pair item: both videos' paths, hashes, fps and frames, the prompt, and the split of the prompt."""
    info = {}
    rows = CampaignItem.objects.filter(pk__in=item_ids).values_list(*ITEM_COLUMNS)
    for (pk, a, a_file, a_sha, a_fps, a_frames, b, b_file, b_sha, b_fps, b_frames, text,
         caption) in rows.iterator(chunk_size=chunk_size):
        key_a, key_b = hra.video_key(a_sha, a), hra.video_key(b_sha, b)
        info[pk] = {"video_A": hra.video_relpath(key_a, a_file), "video_A_sha256": a_sha or "",
                    "video_B": hra.video_relpath(key_b, b_file), "video_B_sha256": b_sha or "",
                    "files": (a_file, b_file), "fps": (a_fps, b_fps), "frames": (a_frames, b_frames),
                    "prompt": text or "", "caption": caption or text or "",
                    "split": hra.split_for(hra.prompt_key(text, f"video:{key_a}"), seed)}
    return info


def write_pairs(*, selected, out_dir: Path, dims: list[str], seed: int, method: str, videoalign: bool,
                copy_video, chunk_size: int, row_group_size: int, bootstrap_samples: int) -> dict:
    """Write the pairs table (and VideoAlign's CSVs); returns {counts, agreement, features}. `selected` are
    the pairwise annotations of the cut; `copy_video(name, target)` copies a video when videos are included."""
    # The rows stream from the cursor to the table; what stays is one small record per annotation for the
    # agreement figures (its choices, not its reasons) and one entry per pair.
    items = _item_info(list(selected.order_by("item_id").values_list("item_id", flat=True).distinct()), seed, chunk_size)
    schema = pairs_schema(dims)
    writer = TableWriter(out_dir / "data", "pairs", schema, row_group_size)
    records, annotators = [], set()
    tally = {split: 0 for split in hra.SPLITS}
    rows = selected.order_by("item_id", "annotator_id", "id").values_list(*PAIR_COLUMNS)
    for pk, item_id, annotator_id, username, ms, state, ratings, corrected, order in rows.iterator(chunk_size=chunk_size):
        item = items[item_id]
        choices = effective_ratings(ratings, corrected)
        row = {key: item[key] for key in ("video_A", "video_A_sha256", "video_B", "video_B_sha256", "prompt",
                                          "caption", "split")}
        row.update(pair=item_id, annotator=hra.annotator_pseudonym(annotator_id, username), time_spent_ms=ms,
                   review_state=state, shown_order=order)
        for dim in dims:
            entry = choices.get(dim) if isinstance(choices.get(dim), dict) else None
            row[f"{dim}_choice"] = entry.get("choice") if entry else None
            row[f"{dim}_rationale"] = (entry.get("rationale") or "") if entry else None
        writer.write(row)
        tally[item["split"]] += 1
        annotators.add(annotator_id)
        records.append(PairRecord(id=pk, annotator=annotator_id, item=item_id, time_spent_ms=ms, shown_order=order,
                                  choices={dim: {"choice": row[f"{dim}_choice"]} for dim in dims}))
    writer.close()
    figures = pair_quality_figures(records, dims, method=method, samples=bootstrap_samples, seed=seed)
    if videoalign:
        _write_videoalign(out_dir=out_dir, items=items, consensus=figures["consensus"])
    for item in items.values() if copy_video else ():
        for name, path in zip(item["files"], (item["video_A"], item["video_B"])):
            copy_video(name, out_dir / path)
    counts = {"pair_annotations": len(records), "pairs": len(items), "pair_annotators": len(annotators),
              **{f"pairs_{split}": n for split, n in tally.items()}}
    return {"counts": counts, "agreement": figures["dimensions"], "schema": schema}


def videoalign_row(item: dict, consensus: dict) -> dict | None:
    """One CSV row of a pair, or None when a dimension VideoAlign needs has no consensus."""
    labels = {column: VIDEOALIGN_LABELS.get(consensus.get(dim)) for column, dim in VIDEOALIGN_DIMENSIONS.items()}
    if None in labels.values():
        return None
    return {"path_A": item["video_A"], "path_B": item["video_B"], "prompt": item["caption"], **labels,
            "fps_A": item["fps"][0], "num_frames_A": item["frames"][0],
            "fps_B": item["fps"][1], "num_frames_B": item["frames"][1]}


def _write_videoalign(*, out_dir: Path, items: dict[int, dict], consensus: dict[int, dict]) -> None:
    """videoalign/{train,validation,test}.csv: one row per pair with its consensus (the prompt's split); the
    paths are relative to the snapshot folder, VideoAlign's --data_dir."""
    folder = out_dir / "videoalign"
    folder.mkdir()
    by_split: dict[str, list[dict]] = {split: [] for split in hra.SPLITS}
    for item_id in sorted(items):
        row = videoalign_row(items[item_id], consensus.get(item_id, {}))
        if row is not None:
            by_split[items[item_id]["split"]].append(row)
    for split, rows in by_split.items():
        with open(folder / f"{split}.csv", "w", encoding="utf-8", newline="") as handle:
            out = csv.DictWriter(handle, fieldnames=VIDEOALIGN_COLUMNS, lineterminator="\n")
            out.writeheader()
            out.writerows(rows)

