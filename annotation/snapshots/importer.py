"""Import: the public LiFT-HRA conversation JSON (with its video folder) or one of our own snapshots
(folder or zip) into a campaign. Everything is checked before anything is written; the writes run in
one transaction, and video files copied in are removed again if it fails."""
from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import transaction

from lift.api_errors import ApplicationError

from ..models import Annotation, Campaign
from ..schema import default_schema
from . import hra_format as hra
from .import_writes import ParsedAnnotation, import_write
from .questions import QuestionReader


def _refuse(errors: list[str]) -> None:
    """Refuse the whole file, naming every problem (nothing has been written yet)."""
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ApplicationError(f"Import refused: {errors[0]}{more}", code="invalid_import", fields={"errors": errors})


def _find_video(rel: str, folders: list[Path]) -> Path | None:
    for folder in folders:
        for candidate in (folder / rel, folder / Path(rel).name):
            if candidate.is_file():
                return candidate
    return None


def _schema_levels(schema: dict) -> dict[str, list[str]]:
    return {dim["key"]: [level["value"] for level in dim["levels"]] for dim in schema["dimensions"]}


def _text_field(entry: dict, name: str) -> str:
    value = entry.get(name)
    return " ".join(value.split()) if isinstance(value, str) else ""


def _read_entry(entry, reader: QuestionReader, levels: dict) -> tuple[str, str, str, str, str, str]:
    """(video, caption, prompt, dimension, rating, reason) of one entry; ValueError naming what is wrong."""
    try:
        rel = entry["video"]
        human, answer = entry["conversations"][0], entry["conversations"][1]
        if not isinstance(rel, str) or human.get("from") != "human" or answer.get("from") != "gpt":
            raise TypeError
    except (KeyError, IndexError, TypeError, AttributeError):
        raise ValueError("needs a 'video' path and a two-turn 'conversations' list (human, then gpt)") from None
    before, inside, dim = reader.read(human.get("value"))
    rating, reason = hra.parse_answer(answer.get("value"), levels[dim])
    # The caption: a separate field if the file has one, else the text before the question, else the
    # prompt inside it; the prompt: a separate field, the prompt inside the question, else the caption.
    caption = _text_field(entry, "caption") or before or inside
    prompt = _text_field(entry, "prompt") or inside or caption
    return rel, caption, prompt, dim, rating, reason


def parse_public(*, path: Path, videos_dir: Path | None, schema: dict) -> list[ParsedAnnotation]:
    """One question per entry; entries of one video fill one annotation per dimension (a repeated
    dimension starts the next source annotator's annotation). Every problem of every entry is listed."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        _refuse([f"{path.name} line {exc.lineno} column {exc.colno}: malformed JSON ({exc.msg})"])
    except (OSError, UnicodeDecodeError) as exc:
        _refuse([f"{path.name}: cannot read ({exc})"])
    if not isinstance(entries, list):
        _refuse([f"{path.name}: expected a JSON list of entries"])
    reader, levels = QuestionReader(schema), _schema_levels(schema)
    folders = [f for f in (videos_dir, path.parent) if f]
    found: dict[str, Path | None] = {}
    errors: list[str] = []
    slots: dict[str, list[ParsedAnnotation]] = {}
    for i, entry in enumerate(entries):
        rel = entry.get("video") if isinstance(entry, dict) else None
        if isinstance(rel, str) and rel not in found:
            found[rel] = _find_video(rel, folders)
        if isinstance(rel, str) and found[rel] is None:
            errors.append(f"entry {i}: video file {rel!r} not found")
        try:
            rel, caption, prompt, dim, rating, reason = _read_entry(entry, reader, levels)
        except ValueError as exc:
            errors.append(f"entry {i}" + (f" ({rel})" if isinstance(rel, str) else "") + f": {exc}")
            continue
        if errors:
            continue  # keep reading, to list every problem, but build nothing more
        own = slots.setdefault(rel, [])
        target = next((a for a in own if dim not in a.ratings), None)
        if target is None:
            key = "public" if not own else f"public-{len(own) + 1}"
            target = ParsedAnnotation(video=found[rel], prompt=prompt, caption=caption, annotator=key)
            own.append(target)
        target.ratings[dim] = {"rating": rating, "rationale": reason}
    _refuse(errors)
    return [a for own in slots.values() for a in own]


def parse_snapshot(*, folder: Path, videos_dir: Path | None, schema: dict) -> list[ParsedAnnotation]:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        _refuse([f"manifest.json: unreadable ({exc})"])
    levels = _schema_levels(schema)
    folders = [f for f in (videos_dir, folder) if f]
    errors: list[str] = []
    parsed: list[ParsedAnnotation] = []
    for split in hra.SPLITS:
        path = folder / "data" / f"{split}.jsonl"
        if not path.is_file():
            errors.append(f"data/{split}.jsonl missing")
            continue
        with open(path, encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                where = f"data/{split}.jsonl line {line_no}"
                try:
                    row = json.loads(line)
                    ratings = {}
                    for dim in manifest["dimensions"]:
                        rating = row.get(f"{dim}_rating")
                        if rating is None:
                            continue
                        if dim not in levels:
                            raise ValueError(f"dimension {dim!r} is not in the campaign's schema")
                        if rating not in levels[dim]:
                            raise ValueError(f"unknown rating word {rating!r} for {dim}")
                        ratings[dim] = {"rating": rating, "rationale": row.get(f"{dim}_rationale") or ""}
                    video = _find_video(row["video"], folders)
                    if video is None:
                        raise ValueError(f"video file {row['video']!r} not found")
                    parsed.append(ParsedAnnotation(
                        video=video, prompt=row.get("prompt") or "", caption=row.get("caption") or "",
                        annotator=str(row["annotator"]), ratings=ratings, time_spent_ms=int(row.get("time_spent_ms") or 0),
                        review_state=row.get("review_state") or Annotation.ReviewState.PENDING,
                    ))
                except json.JSONDecodeError as exc:
                    errors.append(f"{where}: malformed JSON ({exc.msg})")
                except (KeyError, TypeError, ValueError) as exc:
                    errors.append(f"{where}: {exc}")
    _refuse(errors)
    return parsed


def hra_import(*, source: Path, videos_dir: Path | None, campaign_name: str) -> dict:
    """Import into the campaign named `campaign_name` (created with the LiFT schema if absent)."""
    source = Path(source)
    if not source.exists():
        _refuse([f"{source}: no such file or folder"])
    if source.is_file() and zipfile.is_zipfile(source):
        with tempfile.TemporaryDirectory() as tmp:
            with zipfile.ZipFile(source) as zf:
                zf.extractall(tmp)
            return hra_import(source=Path(tmp), videos_dir=videos_dir, campaign_name=campaign_name)
    campaign = Campaign.objects.filter(name=campaign_name).first()
    schema = campaign.schema if campaign else default_schema()
    folder = source if source.is_dir() else source.parent
    if (folder / "manifest.json").is_file() and (source.is_dir() or source.name == "manifest.json"):
        parsed = parse_snapshot(folder=folder, videos_dir=videos_dir, schema=schema)
        kind = "snapshot"
    else:
        if source.is_dir():
            _refuse([f"{source}: a folder without manifest.json is not a snapshot"])
        parsed = parse_public(path=source, videos_dir=videos_dir, schema=schema)
        kind = "lift-hra"
    copied: list[str] = []
    try:
        with transaction.atomic():
            counts = import_write(parsed=parsed, campaign=campaign, campaign_name=campaign_name, copied=copied)
    except BaseException:
        for name in copied:
            default_storage.delete(name)
        raise
    return {"kind": kind, "campaign": campaign_name, **counts}
