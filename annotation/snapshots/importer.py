"""Import: the public LiFT-HRA conversation JSON (with its video folder) or one of our own snapshots
(folder or zip) into a campaign. Everything is checked before anything is written; the writes run in
one transaction, and video files copied in are removed again if it fails."""
from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from lift.api_errors import ApplicationError

from ..models import Annotation, Assignment, Campaign, CampaignItem, Prompt, Video
from ..schema import default_schema
from . import hra_format as hra
from .writers import sha256_file

MAX_ERRORS = 20


@dataclass
class ParsedAnnotation:
    video: Path  # the source file
    prompt: str
    caption: str
    annotator: str  # the source's pseudonym
    ratings: dict = field(default_factory=dict)
    time_spent_ms: int = 0
    review_state: str = Annotation.ReviewState.PENDING


def _refuse(errors: list[str]) -> None:
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ApplicationError(f"Import refused: {errors[0]}{more}", code="invalid_import",
                               fields={"errors": errors[:MAX_ERRORS]})


def _find_video(rel: str, folders: list[Path]) -> Path | None:
    for folder in folders:
        for candidate in (folder / rel, folder / Path(rel).name):
            if candidate.is_file():
                return candidate
    return None


def _schema_maps(schema: dict) -> tuple[dict[str, str], dict[str, list[str]]]:
    questions = {dim.get("question", ""): dim["key"] for dim in schema["dimensions"] if dim.get("question")}
    levels = {dim["key"]: [level["value"] for level in dim["levels"]] for dim in schema["dimensions"]}
    return questions, levels


def parse_public(*, path: Path, videos_dir: Path | None, schema: dict) -> list[ParsedAnnotation]:
    """One question per entry; entries of one video fill one annotation per dimension (a repeated
    dimension starts the next source annotator's annotation)."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        _refuse([f"{path.name} line {exc.lineno} column {exc.colno}: malformed JSON ({exc.msg})"])
    except (OSError, UnicodeDecodeError) as exc:
        _refuse([f"{path.name}: cannot read ({exc})"])
    if not isinstance(entries, list):
        _refuse([f"{path.name}: expected a JSON list of entries"])
    questions, levels = _schema_maps(schema)
    folders = [f for f in (videos_dir, path.parent) if f]
    errors: list[str] = []
    slots: dict[str, list[ParsedAnnotation]] = {}
    for i, entry in enumerate(entries):
        where = f"entry {i}"
        try:
            rel = entry["video"]
            human, answer = entry["conversations"][0], entry["conversations"][1]
            if human.get("from") != "human" or answer.get("from") != "gpt":
                raise ValueError("conversation must be a human turn then a gpt turn")
            caption, dim = hra.parse_human(human["value"], questions)
            rating, reason = hra.parse_answer(answer["value"], levels[dim])
        except (KeyError, IndexError, TypeError, AttributeError):
            errors.append(f"{where}: needs 'video' and a two-turn 'conversations' list")
            continue
        except ValueError as exc:
            errors.append(f"{where} ({entry.get('video')}): {exc}")
            continue
        video = _find_video(rel, folders)
        if video is None:
            errors.append(f"{where}: video file {rel!r} not found")
            continue
        own = slots.setdefault(rel, [])
        target = next((a for a in own if dim not in a.ratings), None)
        if target is None:
            key = "public" if not own else f"public-{len(own) + 1}"
            target = ParsedAnnotation(video=video, prompt=caption, caption=caption, annotator=key)
            own.append(target)
        target.ratings[dim] = {"rating": rating, "rationale": reason}
    _refuse(errors)
    return [a for own in slots.values() for a in own]


def parse_snapshot(*, folder: Path, videos_dir: Path | None, schema: dict) -> list[ParsedAnnotation]:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        _refuse([f"manifest.json: unreadable ({exc})"])
    _, levels = _schema_maps(schema)
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
            counts = _write(parsed=parsed, campaign=campaign, campaign_name=campaign_name, copied=copied)
    except BaseException:
        for name in copied:
            default_storage.delete(name)
        raise
    return {"kind": kind, "campaign": campaign_name, **counts}


def _write(*, parsed: list[ParsedAnnotation], campaign: Campaign | None, campaign_name: str, copied: list[str]) -> dict:
    campaign = campaign or Campaign.objects.create(name=campaign_name, schema=default_schema())
    now = timezone.now()
    users: dict[str, object] = {}
    videos: dict[Path, Video] = {}
    counts = {"annotations": 0, "skipped_existing": 0, "videos_copied": 0}
    touched_items: set[int] = set()
    for annotation in parsed:
        video = videos.get(annotation.video)
        if video is None:
            video = videos[annotation.video] = _video_for(annotation, copied, counts)
        item, _ = CampaignItem.objects.get_or_create(campaign=campaign, video=video)
        touched_items.add(item.pk)
        user = users.get(annotation.annotator)
        if user is None:
            user = users[annotation.annotator] = _importer_user(annotation.annotator)
        assignment, _ = Assignment.objects.get_or_create(
            item=item, annotator=user,
            defaults={"campaign": campaign, "leased_at": now, "expires_at": now, "state": Assignment.State.SUBMITTED},
        )
        if Annotation.objects.filter(assignment=assignment).exists():
            counts["skipped_existing"] += 1
            continue
        body = json.dumps({"ratings": annotation.ratings, "time_spent_ms": annotation.time_spent_ms}, sort_keys=True)
        digest = hashlib.sha256(body.encode()).hexdigest()
        Annotation.objects.create(
            assignment=assignment, campaign=campaign, item=item, annotator=user, ratings=annotation.ratings,
            time_spent_ms=annotation.time_spent_ms, idempotency_key=f"import:{item.pk}:{digest[:32]}",
            request_hash=digest, review_state=annotation.review_state,
        )
        counts["annotations"] += 1
    for item in CampaignItem.objects.filter(pk__in=touched_items):
        done = item.annotations.count()
        item.slots_taken = item.annotations_done = done
        item.is_open = done < campaign.overlap
        item.save(update_fields=["slots_taken", "annotations_done", "is_open"])
    counts.update(videos=len(videos), items=len(touched_items), annotators=len(users))
    return counts


def _video_for(annotation: ParsedAnnotation, copied: list[str], counts: dict) -> Video:
    sha = sha256_file(annotation.video)
    existing = Video.objects.filter(sha256=sha).first()
    if existing:
        return existing
    text = annotation.prompt or annotation.caption
    prompt = None
    if text:
        normalized = " ".join(text.lower().split())[:1000]
        prompt, _ = Prompt.objects.get_or_create(
            normalized=normalized, defaults={"text": text, "caption": annotation.caption, "source": "import"})
    with open(annotation.video, "rb") as handle:
        name = default_storage.save(f"videos/imported/{sha[:16]}{annotation.video.suffix.lower() or '.mp4'}", File(handle))
    copied.append(name)
    counts["videos_copied"] += 1
    return Video.objects.create(file=name, prompt=prompt, source=Video.Source.IMPORTED, generator="import", sha256=sha)


def _importer_user(pseudonym: str):
    username = f"{hra.IMPORT_USER_PREFIX}{pseudonym}"[:150]
    user, created = get_user_model().objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user
