"""The dataset card (README.md) of a snapshot: counts, label distributions with a text bar chart,
agreement figures. Pure: takes the numbers, returns markdown (no timestamps, so bytes are stable)."""
from __future__ import annotations

import json

BAR_WIDTH = 40


def _bar(count: int, total: int) -> str:
    filled = round(BAR_WIDTH * count / total) if total else 0
    return "█" * filled + "·" * (BAR_WIDTH - filled)


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def dataset_card(*, number: int | None, filters: dict, seed: int, counts: dict, distributions: dict,
                 agreement: dict, consensus_method: str) -> str:
    lines = [
        f"# LiFT-HRA snapshot {number if number is not None else ''}".rstrip(),
        "",
        "Human ratings of generated videos in the LiFT-HRA layout: three (or more) dimensions, each rated "
        "Good / Normal / Bad with a reason. Annotators appear only as pseudonyms (HMAC of their id).",
        "",
        "## Contents",
        "- `data/{train,validation,test}.parquet|jsonl` — one row per (video, annotator)",
        "- `data/consensus.parquet|jsonl` — one row per video with the consensus label per dimension "
        f"(method: {consensus_method})",
        "- `lift_hra.json` — the public conversation format, one entry per rated dimension",
        "- `manifest.json` — schema version, filters, counts and the sha256 of every file",
        "",
        "Load with `datasets.load_dataset(\"parquet\", data_files={\"train\": \"data/train.parquet\", ...})`.",
        "",
        "## Selection",
        f"- filters: `{json.dumps(filters, sort_keys=True)}`",
        f"- split seed: {seed} (splits by prompt, hash-based: no prompt is in two splits)",
        "",
        "## Counts",
        "| | rows |",
        "|---|---:|",
    ]
    for key in ("annotations", "videos", "prompts", "annotators", "train", "validation", "test", "hra_entries"):
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
    return "\n".join(lines)
