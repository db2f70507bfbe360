"""The prompt bank: categories as in LiFT, reproducible random combinations, import and export.

A combination is 1–2 subjects, one action and one place joined into a short phrase; the detailed
caption is written later by the generation side's expander. Prompt suites written elsewhere (VBench's
lists) come in with their own category names under `categories["suite"]`; the categories that
combinations draw from stay LiFT's.
"""
import csv
import io
import json
import random
import re
from collections import Counter
from collections.abc import Iterator

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from lift.api_errors import ApplicationError, Conflict

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
# The columns of an export, in order; an import reads the same ones (only `text` is required).
EXPORT_FIELDS = ["text", "caption", "categories", "combination_seed", "source"]
MAX_PROMPT_CHARS = 1000
MAX_SUBJECTS_PER_PROMPT = 4  # combinations name 1–2; the category filter looks this far into the list
SUITE_KEY = "suite"  # categories of prompts from suites: {"suite": ["color", ...]}
MAX_SUITE_CATEGORIES = 16  # VBench gives a prompt up to 3 dimensions; the filter looks this far
LOOKUP_BATCH = 5000  # normalised texts per query when a draw looks the bank up


def prompt_normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower().rstrip(".")


def _checked_text(text: str) -> str:
    normalized = prompt_normalize(text)
    if not normalized:
        raise ApplicationError("A prompt needs some text.", fields={"text": "empty"})
    if len(normalized) > MAX_PROMPT_CHARS:
        raise ApplicationError(f"A prompt is at most {MAX_PROMPT_CHARS} characters.", fields={"text": "too long"})
    return normalized


def prompt_create(*, text: str, caption: str = "", categories: dict | None = None,
                  combination_seed: int | None = None, source: str = "manual") -> Prompt:
    normalized = _checked_text(text)
    if Prompt.objects.filter(normalized=normalized).exists():
        raise Conflict(f"The prompt {text.strip()!r} is already in the bank.", code="duplicate_prompt",
                       fields={"text": "duplicate"})
    return Prompt.objects.create(text=text.strip(), normalized=normalized, caption=caption.strip(),
                                 categories=categories or {}, combination_seed=combination_seed, source=source)


def prompt_categories_ensure_defaults() -> None:
    for (name, role), items in LIFT_CATEGORIES.items():
        PromptCategory.objects.get_or_create(name=name, defaults={"role": role, "items": items})


def prompt_categories_list() -> QuerySet[PromptCategory]:
    """All categories; an empty bank gets LiFT's seven first, so there is always something to draw from."""
    if not PromptCategory.objects.exists():
        prompt_categories_ensure_defaults()
    return PromptCategory.objects.order_by("role", "name")


def _clean_items(items: list, *, keep: list[str] | None = None) -> list[str]:
    """Stripped, non-empty items, without repeats (by normalised text) of each other or of `keep`."""
    seen = {prompt_normalize(item) for item in keep or []}
    cleaned = []
    for item in items:
        if not isinstance(item, str) or not item.strip() or prompt_normalize(item) in seen:
            continue
        seen.add(prompt_normalize(item))
        cleaned.append(" ".join(item.split()))
    return cleaned


def prompt_category_create(*, name: str, role: str, items: list[str]) -> PromptCategory:
    name = " ".join(name.split()).lower()
    if not name:
        raise ApplicationError("A category needs a name.", fields={"name": "empty"})
    if role not in PromptCategory.Role.values:
        raise ApplicationError(f"role must be one of {', '.join(PromptCategory.Role.values)}.", fields={"role": role})
    items = _clean_items(items)
    if not items:
        raise ApplicationError("A category needs at least one item.", fields={"items": "empty"})
    if PromptCategory.objects.filter(name=name).exists():
        raise Conflict(f"The category {name!r} already exists; add items to it instead.", code="duplicate_category",
                       fields={"name": "duplicate"})
    return PromptCategory.objects.create(name=name, role=role, items=items)


def prompt_category_add_items(*, category: PromptCategory, items: list[str]) -> PromptCategory:
    """Append items; ones the category already has (after normalisation) are refused by name."""
    with transaction.atomic():
        category = PromptCategory.objects.select_for_update().get(pk=category.pk)
        existing = {prompt_normalize(item) for item in category.items}
        repeats = [item for item in items if isinstance(item, str) and prompt_normalize(item) in existing]
        if repeats:
            raise Conflict(f"Already in {category.name!r}: {', '.join(repeats[:20])}.", code="duplicate_item",
                           fields={"items": repeats[:20]})
        new_items = _clean_items(items, keep=category.items)
        if not new_items:
            raise ApplicationError("Give at least one item to add.", fields={"items": "empty"})
        category.items = [*category.items, *new_items]
        category.save(update_fields=["items"])
    return category


def prompts_filter(*, category: str = "", source: str = "", search: str = "") -> QuerySet[Prompt]:
    prompts = Prompt.objects.order_by("id")
    if category:
        # Key and index lookups, not JSON `contains`: the demo's SQLite has no `contains` on JSON.
        matches = Q(categories__action=category) | Q(categories__place=category)
        for index in range(MAX_SUBJECTS_PER_PROMPT):
            matches |= Q(**{f"categories__subject__{index}": category})
        for index in range(MAX_SUITE_CATEGORIES):
            matches |= Q(**{f"categories__{SUITE_KEY}__{index}": category})
        prompts = prompts.filter(matches)
    if source:
        prompts = prompts.filter(source=source)
    if search:
        prompts = prompts.filter(Q(text__icontains=search) | Q(caption__icontains=search))
    return prompts


def categories_by_role(categories: list[PromptCategory]) -> dict[str, list[PromptCategory]]:
    """The categories a draw picks from, by role; refused when a role has none to draw from."""
    by_role = {role: [c for c in categories if c.role == role and c.items] for role in PromptCategory.Role.values}
    missing = [role for role, cats in by_role.items() if not cats]
    if missing:
        raise ApplicationError(f"The prompt bank has no {', '.join(missing)} category to draw from.",
                               code="prompt_bank_incomplete")
    return by_role


def combine_phrase(*, rng: random.Random, by_role: dict[str, list[PromptCategory]]) -> tuple[str, dict]:
    """One short prompt from the categories; the same rng state gives the same phrase."""
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


def prompts_combine_check(*, count, seed, category_names=None) -> tuple[int, int, list[str]]:
    """The arguments of a draw, checked without drawing (also used before a generate job is queued)."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 10_000:
        raise ApplicationError("count must be an integer between 1 and 10000.", fields={"count": "out of range"})
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
        raise ApplicationError("seed must be an integer between 0 and 2^31-1.", fields={"seed": "invalid"})
    names = list(category_names or [])
    if not all(isinstance(name, str) for name in names):
        raise ApplicationError("categories must be a list of category names.", fields={"categories": "invalid"})
    known = set(prompt_categories_list().values_list("name", flat=True))
    if unknown := [name for name in names if name not in known]:
        raise ApplicationError(f"Unknown categories: {', '.join(unknown)}.", fields={"categories": unknown})
    return count, seed, sorted(set(names))


@transaction.atomic
def prompts_combine(*, count: int, seed: int, category_names: list[str] | None = None,
                    max_attempts_per_prompt: int = 20) -> list[Prompt]:
    """`count` prompts drawn with `seed`, each with its combination seed recorded.

    The same request gives the same prompts: a phrase already in the bank under this very
    combination seed is that earlier draw and is returned again; a phrase in the bank from
    anywhere else is drawn again, never duplicated. The bank is looked up in batches and the new
    prompts are written in one insert, so the largest draw takes a handful of queries.
    """
    count, seed, category_names = prompts_combine_check(count=count, seed=seed, category_names=category_names)
    categories = list(prompt_categories_list().order_by("name"))
    if category_names:
        categories = [c for c in categories if c.name in set(category_names)]
    by_role = categories_by_role(categories)
    bank: dict[str, Prompt | None] = {}  # normalised text -> its prompt, or None when the bank lacks it

    def look_up(texts) -> None:  # only what is not known yet
        wanted = [text for text in dict.fromkeys(texts) if text not in bank]
        for start in range(0, len(wanted), LOOKUP_BATCH):
            batch = wanted[start:start + LOOKUP_BATCH]
            bank.update(dict.fromkeys(batch))
            bank.update({prompt.normalized: prompt for prompt in Prompt.objects.filter(normalized__in=batch)})

    def phrase(index: int, attempt: int) -> tuple[int, str, str, dict]:
        combination_seed = seed * 1_000_003 + index * 101 + attempt
        text, chosen = combine_phrase(rng=random.Random(combination_seed), by_role=by_role)
        return combination_seed, text, prompt_normalize(text), chosen

    # Look the bank up in rounds, one query per round: every first try, then the next try of each whose
    # latest may clash (its phrase is in the bank under another seed, or drawn more than once so far).
    tries: dict[tuple[int, int], tuple] = {}
    latest: dict[int, int] = {}
    times_drawn: Counter = Counter()
    pending = list(range(count))
    while pending:
        for index in pending:
            attempt = latest[index] = latest.get(index, -1) + 1
            tries[index, attempt] = phrase(index, attempt)
            times_drawn[tries[index, attempt][2]] += 1
        look_up(tries[index, latest[index]][2] for index in pending)
        pending = [index for index in range(count) if latest[index] + 1 < max_attempts_per_prompt
                   and _may_clash(tries[index, latest[index]], bank, times_drawn)]
    drawn, new, taken = [], [], set()
    for index in range(count):
        for attempt in range(max_attempts_per_prompt):
            # A try not looked up ahead: its clash came from a phrase drawn in a later round.
            combination_seed, text, normalized, chosen = tries.get((index, attempt)) or phrase(index, attempt)
            look_up([normalized])
            prompt = bank[normalized]
            if prompt is None:
                prompt = bank[normalized] = Prompt(text=text.strip(), normalized=normalized, categories=chosen,
                                                   combination_seed=combination_seed, source="combined")
                new.append(prompt)
            elif prompt.combination_seed != combination_seed or normalized in taken:
                continue
            taken.add(normalized)
            drawn.append(prompt)
            break
        else:
            raise ApplicationError("The prompt bank ran out of new combinations; add categories or items.",
                                   code="prompt_bank_exhausted")
    try:
        with transaction.atomic():
            Prompt.objects.bulk_create(new)
    except IntegrityError as exc:  # another draw added one of these phrases at the same moment
        raise Conflict("Another request added some of these prompts at the same moment; ask again.",
                       code="prompt_bank_busy") from exc
    return drawn


def _may_clash(attempt: tuple, bank: dict, times_drawn: Counter) -> bool:
    combination_seed, _, normalized, _ = attempt
    found = bank[normalized]
    return times_drawn[normalized] > 1 or (found is not None and found.combination_seed != combination_seed)


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
        try:
            reader = csv.DictReader(io.StringIO(content, newline=""))
            if not reader.fieldnames or "text" not in reader.fieldnames:
                raise ApplicationError("The CSV needs a header with a 'text' column.", code="bad_file")
            rows = list(reader)
        except csv.Error as exc:
            raise ApplicationError(f"Not a readable CSV file ({exc}).", code="bad_file") from exc
        for number, row in enumerate(rows, start=2):  # line 1 is the header
            if None in row:
                raise ApplicationError(f"Line {number}: more fields than the header names.", code="bad_file")
            if row.get("categories"):
                try:
                    row["categories"] = json.loads(row["categories"])
                except json.JSONDecodeError as exc:
                    raise ApplicationError(f"Line {number}: categories is not JSON.", code="bad_file") from exc
        return rows
    raise ApplicationError("format must be csv or jsonl.", fields={"format": fmt})


def _prompt_from_row(row: dict, number: int) -> Prompt:
    def bad(message: str):
        return ApplicationError(f"Row {number}: {message}", code="bad_file", fields={"row": number})

    text, caption = row.get("text"), row.get("caption") or ""
    if not isinstance(text, str) or not isinstance(caption, str):
        raise bad("text and caption must be strings.")
    normalized = prompt_normalize(text)
    if not normalized:
        raise bad("empty text.")
    if len(normalized) > MAX_PROMPT_CHARS:
        raise bad(f"text longer than {MAX_PROMPT_CHARS} characters.")
    categories = row.get("categories") or {}
    if not isinstance(categories, dict):
        raise bad("categories must be a JSON object.")
    seed = row.get("combination_seed")
    if seed in ("", None):
        seed = None
    else:
        try:
            seed = int(seed)
        except (TypeError, ValueError):
            raise bad("combination_seed must be an integer.") from None
    source = row.get("source") or "import"
    if not isinstance(source, str) or len(source) > 32:
        raise bad("source must be a string of at most 32 characters.")
    return Prompt(text=text.strip(), normalized=normalized, caption=caption.strip(), categories=categories,
                  combination_seed=seed, source=source)


def prompts_import(*, content: str, fmt: str) -> list[Prompt]:
    """Import prompts in the export's columns (only text is required); one bad or duplicate row refuses the file.

    Duplicates are named all at once, within the file and against the bank, so one fix suffices.
    """
    rows = _rows_from(content, fmt)
    if not rows:
        raise ApplicationError("The file holds no prompts.", code="bad_file")
    prompts = [_prompt_from_row(row, number) for number, row in enumerate(rows, start=1)]
    first_row: dict[str, int] = {}
    duplicates = []
    for number, prompt in enumerate(prompts, start=1):
        if prompt.normalized in first_row:
            duplicates.append({"row": number, "text": prompt.text,
                               "duplicate_of": f"row {first_row[prompt.normalized]}"})
        else:
            first_row[prompt.normalized] = number
    in_bank = set(Prompt.objects.filter(normalized__in=first_row).values_list("normalized", flat=True))
    duplicates += [{"row": number, "text": prompts[number - 1].text, "duplicate_of": "the bank"}
                   for normalized, number in first_row.items() if normalized in in_bank]
    if duplicates:
        duplicates.sort(key=lambda d: d["row"])
        named = "; ".join(f"row {d['row']} {d['text']!r} (duplicate of {d['duplicate_of']})" for d in duplicates[:10])
        more = f" and {len(duplicates) - 10} more" if len(duplicates) > 10 else ""
        raise Conflict(f"Nothing imported: {len(duplicates)} duplicate prompt(s): {named}{more}.",
                       code="duplicate_prompt", fields={"duplicates": duplicates[:100]})
    try:
        with transaction.atomic():
            return Prompt.objects.bulk_create(prompts)
    except IntegrityError as exc:  # someone added one of these prompts at the same moment
        raise Conflict("Nothing imported: a prompt in the file was added meanwhile; try again.",
                       code="duplicate_prompt") from exc


def _suite_rows(content: str, fmt: str, category: str) -> list[tuple[str, str, str, list[str]]]:
    """(where, text, caption, categories) per prompt of a suite; every bad entry named at once."""
    if fmt == "txt":
        name = " ".join(category.split())
        if not name:
            raise ApplicationError("A plain prompt list needs a category name.", fields={"category": "empty"})
        return [(f"line {number}", line.strip(), "", [name])
                for number, line in enumerate(content.splitlines(), start=1) if line.strip()]
    if fmt != "vbench":
        raise ApplicationError("A suite's format must be txt or vbench.", fields={"format": fmt})
    try:
        entries = json.loads(content)
    except json.JSONDecodeError as exc:
        raise ApplicationError(f"Line {exc.lineno}: not valid JSON ({exc.msg}).", code="bad_file") from exc
    if not isinstance(entries, list):
        raise ApplicationError("Expected VBench's layout: a JSON list of {prompt_en, dimension}.", code="bad_file")
    rows, errors = [], []
    for number, entry in enumerate(entries):
        text = entry.get("prompt_en") if isinstance(entry, dict) else None
        dims = entry.get("dimension") if isinstance(entry, dict) else None
        dims = [dims] if isinstance(dims, str) else dims
        caption = entry.get("prompt_opt", "") if isinstance(entry, dict) else ""  # LiFT's expanded VBench prompts
        if not isinstance(text, str) or not text.strip():
            errors.append(f"entry {number}: no prompt_en text")
        elif not isinstance(dims, list) or not dims or not all(isinstance(d, str) and d.strip() for d in dims):
            errors.append(f"entry {number}: dimension must be a non-empty list of names")
        elif not isinstance(caption, str):
            errors.append(f"entry {number}: prompt_opt must be text")
        else:
            rows.append((f"entry {number}", text.strip(), caption.strip(), [" ".join(d.split()) for d in dims]))
    _refuse_suite(errors)
    return rows


def _refuse_suite(errors: list[str]) -> None:
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ApplicationError(f"Nothing imported: {errors[0]}{more}", code="bad_file", fields={"errors": errors})


def prompts_import_suite(*, content: str, fmt: str, category: str = "") -> dict:
    """A prompt suite: `txt`, one prompt per line, all in `category` (VBench's prompts/*.txt); or
    `vbench`, VBench's JSON (VBench_full_info.json), each prompt's dimension list as its categories.

    New prompts are added; a prompt the bank already has gains the suite's categories, so several lists
    over the same prompts become several categories, and importing a suite again changes nothing.
    """
    merged: dict[str, tuple[str, str, list[str]]] = {}
    errors = []
    for where, text, caption, names in _suite_rows(content, fmt, category):
        normalized = prompt_normalize(text)
        if not normalized or len(normalized) > MAX_PROMPT_CHARS:
            errors.append(f"{where}: " + ("no text" if not normalized else f"longer than {MAX_PROMPT_CHARS} characters"))
            continue
        # A prompt listed twice (VBench's all_dimension.txt joins the per-dimension lists) is one prompt.
        old_text, old_caption, old_names = merged.get(normalized, (text, caption, []))
        merged[normalized] = (old_text, old_caption or caption, list(dict.fromkeys([*old_names, *names])))
        if len(merged[normalized][2]) > MAX_SUITE_CATEGORIES:
            errors.append(f"{where}: more than {MAX_SUITE_CATEGORIES} categories for one prompt")
    _refuse_suite(errors)
    if not merged:
        raise ApplicationError("The file holds no prompts.", code="bad_file")
    counts = {"added": 0, "tagged": 0, "unchanged": 0}
    try:
        with transaction.atomic():
            existing = {p.normalized: p for p in
                        Prompt.objects.select_for_update().filter(normalized__in=list(merged))}
            changed = []
            for normalized, prompt in existing.items():
                names = (prompt.categories or {}).get(SUITE_KEY) if isinstance(prompt.categories, dict) else None
                names = names if isinstance(names, list) else []
                union = list(dict.fromkeys([*names, *merged[normalized][2]]))
                if union == names:
                    counts["unchanged"] += 1
                    continue
                prompt.categories = {**(prompt.categories or {}), SUITE_KEY: union}
                changed.append(prompt)
            Prompt.objects.bulk_update(changed, ["categories"], batch_size=2000)
            new = [Prompt(text=text, normalized=normalized, caption=caption, categories={SUITE_KEY: names},
                          source="vbench" if fmt == "vbench" else "import")
                   for normalized, (text, caption, names) in merged.items() if normalized not in existing]
            Prompt.objects.bulk_create(new, batch_size=2000)
    except IntegrityError as exc:  # someone added one of these prompts at the same moment
        raise Conflict("Nothing imported: a prompt in the file was added meanwhile; try again.",
                       code="duplicate_prompt") from exc
    counts.update(added=len(new), tagged=len(changed))
    return counts


class _Line:
    """A write target for csv.writer that hands back each line instead of buffering the file."""

    def write(self, value: str) -> str:
        return value


def prompts_export_lines(*, fmt: str) -> Iterator[str]:
    """The bank as CSV or JSONL, line by line, oldest first; what `prompts_import` reads back unchanged."""
    if fmt not in ("csv", "jsonl"):
        raise ApplicationError("format must be csv or jsonl.", fields={"format": fmt})
    rows = Prompt.objects.order_by("id").values_list(*EXPORT_FIELDS).iterator(chunk_size=2000)
    return _jsonl_lines(rows) if fmt == "jsonl" else _csv_lines(rows)


def _jsonl_lines(rows) -> Iterator[str]:
    for row in rows:
        record = dict(zip(EXPORT_FIELDS, row, strict=True))
        record["categories"] = _sorted_keys(record["categories"])
        yield json.dumps(record, ensure_ascii=False) + "\n"


def _sorted_keys(categories: dict) -> dict:
    # Key order must not depend on the database's JSON storage, or the same bank would export differently.
    return {key: categories[key] for key in sorted(categories)}


def _csv_lines(rows) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(EXPORT_FIELDS)
    for text, caption, categories, combination_seed, source in rows:
        encoded = json.dumps(categories, ensure_ascii=False, sort_keys=True) if categories else ""
        yield writer.writerow([text, caption, encoded, "" if combination_seed is None else combination_seed, source])


def prompt_set_caption(*, prompt: Prompt, caption: str) -> Prompt:
    Prompt.objects.filter(pk=prompt.pk).update(caption=caption)
    prompt.caption = caption
    return prompt
