"""The public LiFT-HRA conversation format and the naming rules snapshot files share.

An entry: {"video": "videos/<id>.mp4", "conversations": [
    {"from": "human", "value": "<video>\\n <caption> <question>"},
    {"from": "gpt", "value": "<Good|Normal|Bad>. <reason>"}]}
"""
from __future__ import annotations

import hashlib
import hmac
import re

from django.conf import settings

HUMAN_PREFIX = "<video>\n"
# Importer users are named with this prefix plus the source's pseudonym; exports keep that pseudonym,
# so an exported, imported and re-exported snapshot names the same people the same way.
IMPORT_USER_PREFIX = "hra_"
SPLITS = ("train", "validation", "test")
SPLIT_BOUNDS = (0.8, 0.9)  # train below 0.8, validation below 0.9, test above


def human_value(caption: str, question: str) -> str:
    return f"{HUMAN_PREFIX} {caption} {question}"


def answer_value(rating: str, rationale: str) -> str:
    rationale = (rationale or "").strip()
    return f"{rating}. {rationale}" if rationale else f"{rating}."


def conversation_entry(video: str, caption: str, question: str, rating: str, rationale: str) -> dict:
    return {"video": video, "conversations": [
        {"from": "human", "value": human_value(caption, question)},
        {"from": "gpt", "value": answer_value(rating, rationale)},
    ]}


def parse_answer(value: str, levels: list[str]) -> tuple[str, str]:
    """(rating, reason) from "Good." / "Good. reason" / "good .  reason" (the level's own spelling back);
    ValueError for an unknown rating word."""
    if not isinstance(value, str):
        raise ValueError("answer is not text")
    text = value.strip()
    lower = text.lower()
    for level in sorted(levels, key=len, reverse=True):
        end = len(level)
        if lower.startswith(level.lower()) and (end == len(text) or not text[end].isalnum()):
            return level, text[end:].lstrip(" \t\n.:;,!-").strip()
    word = re.match(r"[^\s.,:;!]*", text).group()
    raise ValueError(f"unknown rating word {word!r}; expected one of {', '.join(levels)}")


def annotator_pseudonym(user_id: int, username: str = "") -> str:
    """HMAC of the user id with the SECRET_KEY: stable, not reversible without the key, no names."""
    if username.startswith(IMPORT_USER_PREFIX):
        return username[len(IMPORT_USER_PREFIX):]
    digest = hmac.new(settings.SECRET_KEY.encode(), f"annotator:{user_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:16]


def video_key(sha256: str, pk: int) -> str:
    return sha256[:16] if sha256 else f"video-{pk}"


def video_relpath(key: str, name: str) -> str:
    ext = name.rsplit(".", 1)[-1].lower() if "." in name.rsplit("/", 1)[-1] else "mp4"
    return f"videos/{key}.{ext}"


def prompt_key(text: str | None, fallback: str) -> str:
    """The split key of a prompt: its lower-cased, whitespace-folded text (the same after an import)."""
    return " ".join(text.lower().split()) if text else fallback


def split_for(key: str, seed: int) -> str:
    """Hash-based split of a prompt: reproducible from the seed, and one prompt never lands in two splits."""
    fraction = int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:8], "big") / 2**64
    if fraction < SPLIT_BOUNDS[0]:
        return SPLITS[0]
    return SPLITS[1] if fraction < SPLIT_BOUNDS[1] else SPLITS[2]
