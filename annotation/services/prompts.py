"""The prompt bank: categories as in LiFT, reproducible random combinations, import and export.

A combination is 1–2 subjects, one action and one place joined into a short phrase; the detailed
caption is written later by the generation side's expander.
"""
import csv
import io
import json
import random
import re

from django.db import transaction

from lift.api_errors import ApplicationError

from ..models import Prompt, PromptCategory

# LiFT's category lists (lift-method.md §2), a small default set admins extend.
LIFT_CATEGORIES = {
    ("human", "subject"): ["a woman", "a man", "a child", "an old man", "a dancer"],
    ("land animal", "subject"): ["a dog", "a cat", "a horse", "an elephant", "a fox"],
    ("other animal", "subject"): ["a crane", "a goldfish", "a parrot", "a jellyfish", "a butterfly"],
    ("place", "place"): ["on a beach", "in a forest", "on a city street", "in a kitchen", "on a snowy hill"],
    ("imagined place", "place"): ["in a teacup", "on the moon", "inside a glass bottle", "on a floating island"],
    ("easy action", "action"): ["walking", "sitting", "looking around", "running"],
    ("difficult action", "action"): ["juggling three balls", "doing a backflip", "playing the violin"],
}


def prompt_normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower().rstrip(".")


def prompt_create(*, text: str, caption: str = "", categories: dict | None = None,
                  combination_seed: int | None = None, source: str = "manual") -> Prompt:
    normalized = prompt_normalize(text)
    if not normalized:
        raise ApplicationError("A prompt needs some text.", fields={"text": "empty"})
    if len(normalized) > 1000:
        raise ApplicationError("A prompt is at most 1000 characters.", fields={"text": "too long"})
    if Prompt.objects.filter(normalized=normalized).exists():
        raise ApplicationError(f"The prompt {text.strip()!r} is already in the bank.", code="duplicate_prompt",
                               fields={"text": "duplicate"})
    return Prompt.objects.create(text=text.strip(), normalized=normalized, caption=caption.strip(),
                                 categories=categories or {}, combination_seed=combination_seed, source=source)


def prompt_categories_ensure_defaults() -> None:
    for (name, role), items in LIFT_CATEGORIES.items():
        PromptCategory.objects.get_or_create(name=name, defaults={"role": role, "items": items})


def prompt_category_upsert(*, name: str, role: str, items: list[str]) -> PromptCategory:
    if role not in PromptCategory.Role.values:
        raise ApplicationError(f"role must be one of {', '.join(PromptCategory.Role.values)}.")
    items = [item.strip() for item in items if isinstance(item, str) and item.strip()]
    if not items:
        raise ApplicationError("A category needs at least one item.", fields={"items": "empty"})
    category, _ = PromptCategory.objects.update_or_create(name=name, defaults={"role": role, "items": items})
    return category


def combine_phrase(*, rng: random.Random, categories: list[PromptCategory]) -> tuple[str, dict]:
    """One short prompt from the categories; the same rng state gives the same phrase."""
    by_role = {role: [c for c in categories if c.role == role and c.items] for role in PromptCategory.Role.values}
    missing = [role for role, cats in by_role.items() if not cats]
    if missing:
        raise ApplicationError(f"The prompt bank has no {', '.join(missing)} category to draw from.",
                               code="prompt_bank_incomplete")
    picks, chosen = [], {}
    for _ in range(rng.choice([1, 2])):
        category = rng.choice(by_role["subject"])
        picks.append(rng.choice(category.items))
        chosen.setdefault("subject", []).append(category.name)
    action_category, place_category = rng.choice(by_role["action"]), rng.choice(by_role["place"])
    action, place = rng.choice(action_category.items), rng.choice(place_category.items)
    chosen.update(action=action_category.name, place=place_category.name)
    subjects = " and ".join(dict.fromkeys(picks))
    return f"{subjects} {action} {place}", chosen


@transaction.atomic
def prompts_combine(*, count: int, seed: int, category_names: list[str] | None = None,
                    max_attempts_per_prompt: int = 20) -> list[Prompt]:
    """`count` new prompts drawn with `seed`; phrases already in the bank are drawn again, not duplicated."""
    if not 1 <= count <= 10_000:
        raise ApplicationError("count must be between 1 and 10000.", fields={"count": "out of range"})
    categories = list(PromptCategory.objects.all().order_by("name"))
    if category_names:
        categories = [c for c in categories if c.name in set(category_names)]
    created = []
    for index in range(count):
        for attempt in range(max_attempts_per_prompt):
            combination_seed = seed * 1_000_003 + index * 101 + attempt
            text, chosen = combine_phrase(rng=random.Random(combination_seed), categories=categories)
            if not Prompt.objects.filter(normalized=prompt_normalize(text)).exists():
                created.append(prompt_create(text=text, categories=chosen, combination_seed=combination_seed,
                                             source="combined"))
                break
        else:
            raise ApplicationError("The prompt bank ran out of new combinations; add categories or items.",
                                   code="prompt_bank_exhausted")
    return created


def _rows_from(content: str, fmt: str) -> list[dict]:
    if fmt == "jsonl":
        rows = []
        for number, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ApplicationError(f"Line {number}: not valid JSON ({exc.msg}).", code="bad_file") from exc
            if not isinstance(row, dict):
                raise ApplicationError(f"Line {number}: expected an object with a 'text' field.", code="bad_file")
            rows.append(row)
        return rows
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(content))
        if not reader.fieldnames or "text" not in reader.fieldnames:
            raise ApplicationError("The CSV needs a header with a 'text' column.", code="bad_file")
        return list(reader)
    raise ApplicationError("Format must be csv or jsonl.")


@transaction.atomic
def prompts_import(*, content: str, fmt: str) -> list[Prompt]:
    """Import prompts (text, optional caption); any duplicate or bad row refuses the whole file."""
    rows = _rows_from(content, fmt)
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        normalized = prompt_normalize(str(row.get("text") or ""))
        if not normalized:
            raise ApplicationError(f"Row {number}: empty text.", code="bad_file")
        if normalized in seen:
            raise ApplicationError(f"Row {number}: duplicate of row {seen[normalized]}.", code="duplicate_prompt")
        seen[normalized] = number
    existing = set(Prompt.objects.filter(normalized__in=seen).values_list("normalized", flat=True))
    if existing:
        row = seen[sorted(existing)[0]]
        raise ApplicationError(f"Row {row}: already in the bank ({sorted(existing)[0]!r}).", code="duplicate_prompt")
    return [prompt_create(text=str(row["text"]), caption=str(row.get("caption") or ""), source="import")
            for row in rows]


def prompts_export(*, fmt: str) -> str:
    rows = Prompt.objects.order_by("id").values("id", "text", "caption", "combination_seed", "source")
    if fmt == "jsonl":
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["id", "text", "caption", "combination_seed", "source"])
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def prompt_set_caption(*, prompt: Prompt, caption: str) -> Prompt:
    Prompt.objects.filter(pk=prompt.pk).update(caption=caption)
    prompt.caption = caption
    return prompt
