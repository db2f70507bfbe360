"""The writing half of an import: parsed annotations into a campaign, in bulk (a LiFT-HRA-20K file
is some 7,000 videos), inside the caller's transaction. Video files copied into storage are listed in
`copied`, so the caller can remove them again if the transaction fails."""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.files.storage import default_storage
from django.db.models import Count
from django.utils import timezone

from ..models import Annotation, Assignment, Campaign, CampaignItem, Prompt, Video
from ..schema import default_schema
from ..services.prompts import MAX_PROMPT_CHARS, prompt_normalize
from . import hra_format as hra
from .writers import sha256_file

BATCH = 2000


@dataclass
class ParsedAnnotation:
    video: Path  # the source file
    prompt: str
    caption: str
    annotator: str  # the source's pseudonym
    ratings: dict = field(default_factory=dict)
    time_spent_ms: int = 0
    review_state: str = Annotation.ReviewState.PENDING


def import_write(*, parsed: list[ParsedAnnotation], campaign: Campaign | None, campaign_name: str,
                 copied: list[str]) -> dict:
    campaign = campaign or Campaign.objects.create(name=campaign_name, schema=default_schema())
    counts = {"annotations": 0, "skipped_existing": 0, "videos_copied": 0}
    videos = _videos(parsed, copied, counts)
    items = _items(campaign, {video.pk for video in videos.values()})
    users = {name: _importer_user(name) for name in dict.fromkeys(a.annotator for a in parsed)}
    rows = [(a, items[videos[a.video].pk], users[a.annotator]) for a in parsed]
    assignments = _assignments(campaign, rows)
    annotated = set(Annotation.objects.filter(campaign=campaign, annotator__in=users.values())
                    .values_list("assignment_id", flat=True))
    new = []
    for annotation, item, user in rows:
        assignment = assignments[(item.pk, user.pk)]
        if assignment.pk in annotated:
            counts["skipped_existing"] += 1
            continue
        annotated.add(assignment.pk)
        body = json.dumps({"ratings": annotation.ratings, "time_spent_ms": annotation.time_spent_ms}, sort_keys=True)
        digest = hashlib.sha256(body.encode()).hexdigest()
        new.append(Annotation(
            assignment=assignment, campaign=campaign, item=item, annotator=user, ratings=annotation.ratings,
            time_spent_ms=annotation.time_spent_ms, idempotency_key=f"import:{item.pk}:{digest[:32]}",
            request_hash=digest, review_state=annotation.review_state,
        ))
    Annotation.objects.bulk_create(new, batch_size=BATCH)
    counts["annotations"] = len(new)
    _recount(campaign, {item.pk for _, item, _ in rows})
    counts.update(videos=len(videos), items=len({item.pk for _, item, _ in rows}), annotators=len(users))
    return counts


def _videos(parsed: list[ParsedAnnotation], copied: list[str], counts: dict) -> dict[Path, Video]:
    """The video of each source file: one already stored with the same bytes, or a copy made now."""
    first = {}
    for annotation in parsed:
        first.setdefault(annotation.video, annotation)
    sha = {path: sha256_file(path) for path in first}
    known: dict[str, Video] = {}
    for digests in _chunks(sorted(set(sha.values()))):
        for video in Video.objects.filter(sha256__in=digests).order_by("-id"):
            known[video.sha256] = video  # the oldest wins
    fresh = [path for path in first if sha[path] not in known]
    prompts = _prompts([first[path] for path in fresh])
    new: dict[str, Video] = {}
    for path in fresh:
        if sha[path] in new:
            continue  # the same bytes under two names
        with open(path, "rb") as handle:
            name = default_storage.save(f"videos/imported/{sha[path][:16]}{path.suffix.lower() or '.mp4'}", File(handle))
        copied.append(name)
        text = first[path].prompt or first[path].caption
        new[sha[path]] = Video(file=name, prompt=prompts.get(_normalized(text)) if text else None,
                               source=Video.Source.IMPORTED, generator="import", sha256=sha[path])
    Video.objects.bulk_create(new.values(), batch_size=BATCH)
    counts["videos_copied"] = len(new)
    known.update(new)
    return {path: known[sha[path]] for path in first}


def _chunks(values: list) -> list[list]:
    return [values[start:start + BATCH] for start in range(0, len(values), BATCH)]


def _normalized(text: str) -> str:
    return prompt_normalize(text)[:MAX_PROMPT_CHARS]


def _prompts(annotations: list[ParsedAnnotation]) -> dict[str, Prompt]:
    """The bank's prompt for each text, added when the bank does not have it yet."""
    wanted = {}
    for annotation in annotations:
        text = annotation.prompt or annotation.caption
        if text and _normalized(text):
            wanted.setdefault(_normalized(text), Prompt(text=text, normalized=_normalized(text),
                                                         caption=annotation.caption, source="import"))
    found = _prompts_by_normalized(list(wanted))
    Prompt.objects.bulk_create([p for key, p in wanted.items() if key not in found], batch_size=BATCH,
                               ignore_conflicts=True)  # one added meanwhile is simply used
    return _prompts_by_normalized(list(wanted))


def _prompts_by_normalized(keys: list[str]) -> dict[str, Prompt]:
    return {p.normalized: p for chunk in _chunks(keys) for p in Prompt.objects.filter(normalized__in=chunk)}


def _items(campaign: Campaign, video_ids: set[int]) -> dict[int, CampaignItem]:
    """The campaign item of each video (by video id), added where missing."""
    def existing():
        return {item.video_id: item for chunk in _chunks(sorted(video_ids))
                for item in CampaignItem.objects.filter(campaign=campaign, video_id__in=chunk)}

    missing = video_ids - set(existing())
    CampaignItem.objects.bulk_create([CampaignItem(campaign=campaign, video_id=v) for v in sorted(missing)],
                                     batch_size=BATCH)
    return existing()


def _assignments(campaign: Campaign, rows) -> dict[tuple[int, int], Assignment]:
    """One submitted assignment per (item, annotator), reusing one that exists."""
    keys = {(item.pk, user.pk) for _, item, user in rows}
    users = {user for _, user in keys}

    def existing():
        return {(a.item_id, a.annotator_id): a for a in Assignment.objects.filter(campaign=campaign, annotator_id__in=users)}

    now = timezone.now()
    Assignment.objects.bulk_create(
        [Assignment(campaign=campaign, item_id=item, annotator_id=user, leased_at=now, expires_at=now,
                    state=Assignment.State.SUBMITTED) for item, user in sorted(keys - set(existing()))],
        batch_size=BATCH)
    return existing()


def _recount(campaign: Campaign, item_ids: set[int]) -> None:
    """Each item's counters from its annotations: one UPDATE per distinct count (Django's bulk_update
    writes a CASE per row, seconds for a few thousand items)."""
    by_count: dict[int, list[int]] = defaultdict(list)
    for chunk in _chunks(sorted(item_ids)):
        done = dict(Annotation.objects.filter(item_id__in=chunk).values_list("item").annotate(n=Count("id")))
        for pk in chunk:
            by_count[done.get(pk, 0)].append(pk)
    for done, ids in by_count.items():
        for chunk in _chunks(ids):
            CampaignItem.objects.filter(pk__in=chunk).update(slots_taken=done, annotations_done=done,
                                                             is_open=done < campaign.overlap)


def _importer_user(pseudonym: str):
    username = f"{hra.IMPORT_USER_PREFIX}{pseudonym}"[:150]
    user, created = get_user_model().objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user
