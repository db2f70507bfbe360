"""Export: a LiFT-HRA snapshot of the annotations chosen by filters, read in one consistent cut and
written by streaming (memory stays flat however many annotations there are).

The cut: everything is read inside one REPEATABLE READ transaction (PostgreSQL), and the highest
annotation id visible at its start is recorded, so annotations arriving meanwhile are all out, and a
re-run of the same snapshot (same `cut_max_id`) reads the same rows and writes the same bytes.
"""
from __future__ import annotations

import json
import shutil
from array import array
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Max

from lift.api_errors import ApplicationError

from ..models import Annotation, Campaign, Video
from ..quality.agreement import counts_from_labels
from ..quality.consensus import consensus_labels
from ..quality.report import quality_figures
from ..quality.tables import LabelTable, effective_ratings
from . import hra_format as hra
from .card import dataset_card
from .pairs import pair_dimensions, write_pairs
from .questions import public_question
from .writers import JsonArrayWriter, TableWriter, sha256_file

SCHEMA_VERSION = 1
QUESTION_STYLES = ("schema", "public")  # lift_hra.json asks the schema's questions, or the public critic's
DEFAULT_STATES = ["accepted", "corrected", "pending"]
REVIEW_STATES = {s.value for s in Annotation.ReviewState}


def filters_clean(filters: dict | None) -> dict:
    """Canonical filters (sorted lists, ISO dates), or an ApplicationError naming the bad one."""
    filters = dict(filters or {})
    unknown = set(filters) - {"campaign_ids", "review_states", "since", "until"}
    if unknown:
        raise ApplicationError(f"Unknown snapshot filters: {', '.join(sorted(unknown))}", fields={"filters": sorted(unknown)})
    ids = filters.get("campaign_ids") or []
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ApplicationError("campaign_ids must be a list of campaign ids.", fields={"campaign_ids": "not a list of ids"})
    missing = sorted(set(ids) - set(Campaign.objects.filter(pk__in=ids).values_list("pk", flat=True)))
    if missing:
        raise ApplicationError(f"Unknown campaign ids: {missing}", code="unknown_campaign", fields={"campaign_ids": missing})
    states = filters.get("review_states") or DEFAULT_STATES
    if not isinstance(states, list) or not set(states) <= REVIEW_STATES:
        raise ApplicationError(f"review_states must be a list of {', '.join(sorted(REVIEW_STATES))}.",
                               fields={"review_states": "unknown state"})
    clean = {"campaign_ids": sorted(set(ids)), "review_states": sorted(set(states))}
    for key in ("since", "until"):
        value = filters.get(key)
        if value:
            try:
                moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
                clean[key] = (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).isoformat()
            except ValueError:
                raise ApplicationError(f"{key} must be an ISO date or date-time.", fields={key: "not a date"}) from None
    return clean


def annotations_selected(filters: dict):
    """The annotations a snapshot with these filters takes (the retrain loop's people's review reads the same)."""
    # Withdrawn and voided annotations stay in the database but never in a snapshot.
    annotations = Annotation.objects.filter(state=Annotation.State.ACTIVE, review_state__in=filters["review_states"])
    if filters["campaign_ids"]:
        annotations = annotations.filter(campaign_id__in=filters["campaign_ids"])
    if filters.get("since"):
        annotations = annotations.filter(created_at__gte=filters["since"])
    if filters.get("until"):
        annotations = annotations.filter(created_at__lt=filters["until"])
    return annotations


def _dimensions(filters: dict, question_style: str) -> tuple[list[str], dict[str, list[str]], dict[str, str]]:
    campaigns = Campaign.objects.filter(kind=Campaign.Kind.RATING).order_by("id")
    if filters["campaign_ids"]:
        campaigns = campaigns.filter(pk__in=filters["campaign_ids"])
    dims, levels, questions = [], {}, {}
    for schema in campaigns.values_list("schema", flat=True):
        for dim in schema["dimensions"]:
            if dim["key"] not in levels:
                dims.append(dim["key"])
                levels[dim["key"]] = [level["value"] for level in dim["levels"]]
                question = dim.get("question") or dim.get("label") or dim["key"]
                if question_style == "public":
                    question = public_question(dim["key"], dim.get("label", ""), question)
                questions[dim["key"]] = question
    return dims, levels, questions


def _row_schema(dims: list[str]) -> pa.Schema:
    fields = [("video", pa.string()), ("video_sha256", pa.string()), ("prompt", pa.string()),
              ("caption", pa.string()), ("annotator", pa.string()), ("time_spent_ms", pa.int64()),
              ("review_state", pa.string())]
    for dim in dims:
        fields += [(f"{dim}_rating", pa.string()), (f"{dim}_rationale", pa.string())]
    return pa.schema(fields)


def _consensus_schema(dims: list[str], levels: dict) -> pa.Schema:
    fields = [("video", pa.string()), ("prompt", pa.string()), ("caption", pa.string()),
              ("split", pa.string()), ("annotations", pa.int64())]
    for dim in dims:
        fields.append((f"{dim}_consensus", pa.string()))
        fields += [(f"{dim}_{level.lower()}_votes", pa.int64()) for level in levels[dim]]
    return pa.schema(fields)


ROW_COLUMNS = ("id", "item__video_id", "item__video__file", "item__video__sha256", "item__video__prompt__text",
               "item__video__prompt__caption", "item__video__prompt__normalized", "annotator_id",
               "annotator__username", "time_spent_ms", "review_state", "ratings", "corrected_ratings")


def snapshot_export(*, filters: dict, out_dir: Path, seed: int = 0, include_videos: bool = False,
                    cut_max_id: int | None = None, number: int | None = None, consensus_method: str | None = None,
                    question_style: str = "schema", videoalign_csv: bool = False,
                    report=None, chunk_size: int = 2000, row_group_size: int = 20000,
                    bootstrap_samples: int = 200) -> dict:
    """Write the snapshot folder; returns the manifest. `report(fraction=, phase=)` hears progress.

    Annotations of pairwise campaigns go to the pairs table (annotation/snapshots/pairs.py), and with
    `videoalign_csv` also to VideoAlign's training CSVs; the ratings tables hold the rating campaigns'."""
    report = report or (lambda **kwargs: None)
    filters = filters_clean(filters)
    if question_style not in QUESTION_STYLES:
        raise ApplicationError(f"question_style must be one of {', '.join(QUESTION_STYLES)}.",
                               fields={"question_style": question_style})
    out_dir = Path(out_dir)
    if out_dir.exists():
        if any(out_dir.iterdir()) and not (out_dir / "manifest.json").exists() and not (out_dir / "data").exists():
            raise ApplicationError(f"{out_dir} exists and is not a snapshot folder; choose an empty or new folder.",
                                   fields={"out": "not empty"})
        shutil.rmtree(out_dir)  # a re-run overwrites its own earlier output, never appends to it
    (out_dir / "data").mkdir(parents=True)
    # A caller's open transaction (tests wrap each in one) already fixed its isolation level.
    outer = connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and not outer:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        selected = annotations_selected(filters)
        if cut_max_id is None:
            cut_max_id = selected.aggregate(m=Max("id"))["m"] or 0
        selected = selected.filter(id__lte=cut_max_id)
        selected_pairs = selected.filter(campaign__kind=Campaign.Kind.PAIRWISE)
        selected = selected.filter(campaign__kind=Campaign.Kind.RATING)
        total = selected.count()
        report(fraction=0.0, phase="cut", log=f"cut at annotation id {cut_max_id}: {total} annotations")
        dims, levels, questions = _dimensions(filters, question_style)
        method = consensus_method or _consensus_method(filters)
        counts, table, videos_seen = _write_rows(
            selected=selected, out_dir=out_dir, dims=dims, levels=levels, questions=questions, seed=seed,
            include_videos=include_videos, total=total, report=report, chunk_size=chunk_size,
            row_group_size=row_group_size,
        )
        report(fraction=0.85, phase="consensus")
        consensus = np.stack([
            consensus_labels(method, table.units, table.coders, table.labels[:, d], table.n_units, table.n_coders,
                             len(levels[dim]))
            for d, dim in enumerate(dims)
        ], axis=1).astype(np.int8) if dims else np.zeros((table.n_units, 0), dtype=np.int8)
        _write_consensus(selected=selected, out_dir=out_dir, dims=dims, levels=levels, seed=seed, table=table,
                         consensus=consensus, videos_seen=videos_seen, chunk_size=chunk_size,
                         row_group_size=row_group_size)
        pair_dims = pair_dimensions(filters)
        pairs = None
        if pair_dims and selected_pairs.exists():
            report(fraction=0.9, phase="pairs")
            pairs = write_pairs(selected=selected_pairs, out_dir=out_dir, dims=pair_dims, seed=seed, method=method,
                                videoalign=videoalign_csv, copy_video=_copy_video if include_videos else None,
                                chunk_size=chunk_size, row_group_size=row_group_size,
                                bootstrap_samples=bootstrap_samples)
    report(fraction=0.92, phase="card")
    figures = quality_figures(table, method=method, samples=bootstrap_samples, seed=seed)
    distributions = {
        dim: {level: int((table.labels[:, d] == i).sum()) for i, level in enumerate(levels[dim])}
        for d, dim in enumerate(dims)
    }
    counts.update(videos=table.n_units, annotators=table.n_coders)
    features = {"ratings": _row_schema(dims), "consensus": _consensus_schema(dims, levels)}
    if pairs is not None:
        counts.update(pairs["counts"])
        features["pairs"] = pairs["schema"]
    (out_dir / "README.md").write_text(dataset_card(
        number=number, filters=filters, seed=seed, counts=counts, distributions=distributions,
        agreement=figures["dimensions"], consensus_method=method, question_style=question_style,
        features={name: [(f.name, str(f.type)) for f in schema] for name, schema in features.items()},
        pair_agreement=pairs["agreement"] if pairs is not None else None, videoalign_csv=videoalign_csv,
    ), encoding="utf-8")
    manifest = {
        "schema_version": SCHEMA_VERSION, "format": "lift-hra-snapshot", "number": number, "filters": filters,
        "seed": seed, "cut_max_id": cut_max_id, "consensus_method": method, "dimensions": dims, "levels": levels,
        "questions": questions, "question_style": question_style, "counts": counts, "distributions": distributions,
        "agreement": figures["dimensions"], "files": {},
    }
    if pairs is not None:
        manifest.update(pair_dimensions=pair_dims, pair_agreement=pairs["agreement"])
    for name in sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file()):
        manifest["files"][name] = {"sha256": sha256_file(out_dir / name), "bytes": (out_dir / name).stat().st_size}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    report(fraction=0.97, phase="written")
    return manifest


def _consensus_method(filters: dict) -> str:
    methods = set(Campaign.objects.filter(pk__in=filters["campaign_ids"]).values_list("consensus_method", flat=True)) \
        if filters["campaign_ids"] else set()
    return methods.pop() if len(methods) == 1 else "majority"


def _write_rows(*, selected, out_dir, dims, levels, questions, seed, include_videos, total, report, chunk_size,
                row_group_size):
    schema = _row_schema(dims)
    writers = {split: TableWriter(out_dir / "data", split, schema, row_group_size) for split in hra.SPLITS}
    hra_writer = JsonArrayWriter(out_dir / "lift_hra.json")
    level_index = {dim: {level: i for i, level in enumerate(levels[dim])} for dim in dims}
    units, coders = array("i"), array("i")  # 4 bytes a row: the only state that grows with the snapshot
    labels = array("b")
    coder_pos: dict[int, int] = {}
    videos_seen = array("q")  # video ids in unit order: 8 bytes each, not their metadata
    last_video, done = None, 0
    rows = selected.order_by("item__video_id", "annotator_id", "id").values_list(*ROW_COLUMNS)
    for (_, video_id, file, sha, text, caption, normalized, annotator_id, username, ms, state,
         ratings, corrected) in rows.iterator(chunk_size=chunk_size):
        key = hra.video_key(sha, video_id)
        video_path = hra.video_relpath(key, file)
        pkey = hra.prompt_key(text, f"video:{key}")
        split = hra.split_for(pkey, seed)
        if video_id != last_video:
            videos_seen.append(video_id)
            last_video = video_id
            if include_videos:
                _copy_video(file, out_dir / video_path)
        caption = caption or text or ""
        ratings = effective_ratings(ratings, corrected)
        row = {"video": video_path, "video_sha256": sha or "", "prompt": text or "", "caption": caption,
               "annotator": hra.annotator_pseudonym(annotator_id, username), "time_spent_ms": ms, "review_state": state}
        units.append(len(videos_seen) - 1)
        coders.append(coder_pos.setdefault(annotator_id, len(coder_pos)))
        for dim in dims:
            entry = ratings.get(dim) if isinstance(ratings.get(dim), dict) else None
            rating = entry.get("rating") if entry else None
            rationale = (entry.get("rationale") or "") if entry else None
            row[f"{dim}_rating"], row[f"{dim}_rationale"] = rating, rationale
            labels.append(level_index[dim].get(rating, -1))
            if rating is not None:
                hra_writer.write(hra.conversation_entry(video_path, caption, questions[dim], rating, rationale))
        writers[split].write(row)
        done += 1
        if done % chunk_size == 0:
            report(fraction=0.8 * done / max(total, 1), phase="rows")
    for writer in writers.values():
        writer.close()
    hra_writer.close()
    counts = {"annotations": done, "prompts": selected.values("item__video__prompt_id").distinct().count(),
              "hra_entries": hra_writer.count,
              **{split: writer.rows for split, writer in writers.items()}}
    table = LabelTable(
        dimensions=dims, levels=levels, units=np.frombuffer(units, dtype=np.int32) if done else np.zeros(0, np.int32),
        coders=np.frombuffer(coders, dtype=np.int32) if done else np.zeros(0, np.int32),
        labels=(np.frombuffer(labels, dtype=np.int8).reshape(done, len(dims)) if done and dims
                else np.zeros((done, len(dims)), dtype=np.int8)),
        unit_ids=videos_seen, coder_ids=list(coder_pos),  # type: ignore[arg-type]
    )
    return counts, table, videos_seen


def _copy_video(name: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        return
    with default_storage.open(name, "rb") as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)


def _write_consensus(*, selected, out_dir, dims, levels, seed, table, consensus, videos_seen, chunk_size,
                     row_group_size):
    writer = TableWriter(out_dir / "data", "consensus", _consensus_schema(dims, levels), row_group_size)
    votes = {dim: counts_from_labels(table.units, table.labels[:, d], table.n_units, len(levels[dim])).astype(np.int32)
             for d, dim in enumerate(dims)}
    per_unit = np.bincount(table.units, minlength=table.n_units) if table.n_units else np.zeros(0, np.int64)
    video_ids = selected.values("item__video_id")
    videos = (Video.objects.filter(pk__in=video_ids).order_by("id")
              .values_list("id", "file", "sha256", "prompt__text", "prompt__caption", "prompt__normalized"))
    unit = 0
    for video_id, file, sha, text, caption, normalized in videos.iterator(chunk_size=chunk_size):
        if video_id != videos_seen[unit]:
            raise RuntimeError("snapshot read is not consistent: video order differs between passes")
        key = hra.video_key(sha, video_id)
        row = {"video": hra.video_relpath(key, file), "prompt": text or "", "caption": caption or text or "",
               "split": hra.split_for(hra.prompt_key(text, f"video:{key}"), seed),
               "annotations": int(per_unit[unit])}
        for d, dim in enumerate(dims):
            label = int(consensus[unit, d])
            row[f"{dim}_consensus"] = levels[dim][label] if label >= 0 else None
            for i, level in enumerate(levels[dim]):
                row[f"{dim}_{level.lower()}_votes"] = int(votes[dim][unit, i])
        writer.write(row)
        unit += 1
    writer.close()
