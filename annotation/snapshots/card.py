"""The dataset card (README.md) of a snapshot: the Hub's YAML header (configurations, features, license,
task categories, size category), then counts, label distributions with a text bar chart, agreement
figures. Pure: takes the numbers, returns markdown (no timestamps, so bytes are stable).

The header is what makes the folder load like a Hub dataset: `datasets.load_dataset(folder)` reads the
`ratings` configuration (the default), `load_dataset(folder, "consensus")` the consensus table, and the
same folder pushed to a Hub repository shows both in its viewer (huggingface.co/docs/hub/datasets-cards,
/datasets-manual-configuration).
"""
from __future__ import annotations

import json

import yaml

BAR_WIDTH = 40
RATINGS_SPLITS = ("train", "validation", "test")
CONSENSUS_SPLIT = "consensus"
PAIRS_SPLIT = "pairs"
TASK_CATEGORIES = ["video-text-to-text", "video-classification"]
# The Hub's size categories, by number of rows: (upper bound, name).
SIZE_CATEGORIES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]


def _bar(count: int, total: int) -> str:
    filled = round(BAR_WIDTH * count / total) if total else 0
    return "█" * filled + "·" * (BAR_WIDTH - filled)


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def size_category(rows: int) -> str:
    return next((name for bound, name in SIZE_CATEGORIES if rows < bound), "n>1B")


def card_header(*, number: int | None, counts: dict, features: dict[str, list[tuple[str, str]]], license: str) -> str:
    """The YAML block. A split without rows is left out: `datasets` cannot load a split with no data."""
    splits = {"ratings": [(s, counts.get(s, 0)) for s in RATINGS_SPLITS if counts.get(s, 0)],
              "consensus": [(CONSENSUS_SPLIT, counts.get("videos", 0))] if counts.get("videos", 0) else [],
              # Pairwise campaigns' annotations: one table, its split a column (by prompt, as the ratings').
              "pairs": [(PAIRS_SPLIT, counts.get("pair_annotations", 0))] if counts.get("pair_annotations", 0) else []}
    paths = {"ratings": "data/{}.parquet", "consensus": "data/consensus.parquet", "pairs": "data/pairs.parquet"}
    configs = [name for name in ("ratings", "consensus", "pairs") if splits[name]]  # an empty snapshot has none
    header = {
        "pretty_name": f"LiFT-HRA snapshot {number if number is not None else ''}".rstrip(),
        "license": license,
        "task_categories": TASK_CATEGORIES,
        "tags": ["lift-hra", "human-feedback", "video-quality", "text-to-video"],
        "size_categories": [size_category(counts.get("annotations", 0) + counts.get("pair_annotations", 0))],
        "configs": [
            {"config_name": name, **({"default": True} if name == configs[0] else {}),
             "data_files": [{"split": split, "path": paths[name].format(split)} for split, _ in splits[name]]}
            for name in configs
        ],
        "dataset_info": [
            {"config_name": name,
             "features": [{"name": column, "dtype": dtype} for column, dtype in features[name]],
             "splits": [{"name": split, "num_examples": rows} for split, rows in splits[name]]}
            for name in configs
        ],
    }
    return "---\n" + yaml.safe_dump(header, sort_keys=False, allow_unicode=True, width=1000) + "---\n"


def dataset_card(*, number: int | None, filters: dict, seed: int, counts: dict, distributions: dict,
                 agreement: dict, consensus_method: str, features: dict[str, list[tuple[str, str]]],
                 license: str = "other", question_style: str = "schema", pair_agreement: dict | None = None,
                 videoalign_csv: bool = False) -> str:
    phrasing = ("the public LiFT critic's questions" if question_style == "public"
                else "the campaign schema's questions")
    lines = [
        card_header(number=number, counts=counts, features=features, license=license),
        f"# LiFT-HRA snapshot {number if number is not None else ''}".rstrip(),
        "",
        "Human ratings of generated videos in the LiFT-HRA layout: three (or more) dimensions, each rated "
        "Good / Normal / Bad with a reason. Annotators appear only as pseudonyms (HMAC of their id).",
        "",
        f"License: `{license}` in the header above; whoever owns the ratings sets it before publishing.",
        "",
        "## Contents",
        "- configuration `ratings` (the default): `data/{train,validation,test}.parquet` (and `.jsonl`) — "
        "one row per (video, annotator)",
        "- configuration `consensus`: `data/consensus.parquet` (and `.jsonl`) — one row per video with the "
        f"consensus label per dimension (method: {consensus_method}) and the split of its prompt",
        f"- `lift_hra.json` — the public conversation format, one entry per rated dimension, in {phrasing}",
        *([
            "- configuration `pairs`: `data/pairs.parquet` (and `.jsonl`) — one row per (pair, annotator) of the "
            "pairwise campaigns: videos A and B of one prompt, per dimension the choice `A`, `B` or `tie` (of the "
            "pair, whatever side it was shown on), its reason, and `shown_order` (`AB`: A was on the left)",
        ] if pair_agreement is not None else []),
        *([
            "- `videoalign/{train,validation,test}.csv` — VideoAlign's training layout, one row per pair with its "
            "consensus: fidelity → VQ, motion → MQ, semantic → TA, labels A / B / same; paths relative to this "
            "folder (its `--data_dir`)",
        ] if pair_agreement is not None and videoalign_csv else []),
        "- `manifest.json` — schema version, filters, counts and the sha256 of every file",
        "",
        "Load with `datasets.load_dataset(\"<this folder>\")` (the ratings) and "
        "`datasets.load_dataset(\"<this folder>\", \"consensus\")`; the same folder pushed to a Hub "
        "dataset repository loads by its name. A split without rows is not listed in the header "
        "(`datasets` cannot load an empty split); its files are still here.",
        "",
        "## Selection",
        f"- filters: `{json.dumps(filters, sort_keys=True)}`",
        f"- split seed: {seed} (splits by prompt, hash-based: no prompt is in two splits)",
        "",
        "## Counts",
        "| | rows |",
        "|---|---:|",
    ]
    keys = ["annotations", "videos", "prompts", "annotators", "train", "validation", "test", "hra_entries"]
    if pair_agreement is not None:
        keys += ["pair_annotations", "pairs", "pair_annotators", "pairs_train", "pairs_validation", "pairs_test"]
    for key in keys:
        lines.append(f"| {key} | {counts.get(key, 0)} |")
    lines += ["", "## Label distributions", ""]
    for dim, dist in distributions.items():
        total = sum(dist.values())
        lines += [f"### {dim}", "```"]
        for level, count in dist.items():
            share = count / total if total else 0.0
            lines.append(f"{level:<7} {_bar(count, total)} {count:>8} ({share:6.1%})")
        lines += ["```", ""]
    lines += ["## Agreement", "",
              "| dimension | Krippendorff α (ordinal) | 95% CI (bootstrap) | pairwise agreement | pairable videos |",
              "|---|---:|---:|---:|---:|"]
    for dim, figures in agreement.items():
        low, high = figures["alpha_ci"]
        lines.append(f"| {dim} | {_fmt(figures['alpha_ordinal'])} | [{_fmt(low)}, {_fmt(high)}] | "
                     f"{_fmt(figures['pairwise_agreement'])} | {figures['pairable_units']} |")
    lines.append("")
    if pair_agreement is not None:
        lines += ["## Agreement on pairs", "",
                  "| dimension | Krippendorff α (nominal A / tie / B) | 95% CI (bootstrap) | pairwise agreement | "
                  "pairable pairs |", "|---|---:|---:|---:|---:|"]
        for dim, figures in pair_agreement.items():
            low, high = figures["alpha_ci"]
            lines.append(f"| {dim} | {_fmt(figures['alpha_nominal'])} | [{_fmt(low)}, {_fmt(high)}] | "
                         f"{_fmt(figures['pairwise_agreement'])} | {figures['pairable_units']} |")
        lines.append("")
    return "\n".join(lines)
