"""Snapshot and agreement benchmark.

    python bench/snapshot_bench.py --sizes 100000 1000000

Creates a database of its own (default `lift_bench_snapshots`, dropped and re-created), migrates it,
bulk-loads N annotations with rationales per size (COPY; no video files), then for each size runs in a
fresh subprocess (so its peak memory is its own, read with os.wait4's rusage):
  * the snapshot export (same service as the `snapshot` job) -> seconds and peak RSS;
  * agreement (Krippendorff alpha + 1000-sample bootstrap CI, pairwise) and consensus (majority and
    Dawid-Skene) over the campaign -> seconds.
Targets: 100k snapshot < 20 s; peak RSS at 1M <= 1.3x peak at 100k; agreement+consensus at 100k < 10 s.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OVERLAP = 3
ANNOTATORS = 300
LEVELS = ("Good", "Normal", "Bad")
WORDS = ("the subject", "the motion", "the colour", "the background", "a hand", "the face", "the camera",
         "the lighting", "the count", "the texture", "the edges", "the shadow")


def _env(db_name: str) -> dict:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "lift.settings.test",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db_name}", "PYTHONPATH": str(ROOT)}


def _django(db_name: str) -> None:
    os.environ.update(_env(db_name))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def create_database(db_name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{db_name}"')
        cur.execute(f'CREATE DATABASE "{db_name}"')
    conn.close()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=_env(db_name), check=True)


def _copy(cursor, table: str, columns: list[str], lines: list[str]) -> None:
    cursor.copy_expert(f'COPY {table} ({", ".join(columns)}) FROM STDIN', io.StringIO("".join(lines)))


def populate(db_name: str, size: int, seed: int = 0) -> int:
    """A campaign with `size` annotations (overlap 3, rationales ~60 chars); returns its id. COPY in batches."""
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.db import connection

    from annotation.models import Campaign

    rng = np.random.default_rng(seed + size)
    campaign = Campaign.objects.create(name=f"bench {size}", overlap=OVERLAP)
    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"bench{size}_{i}") for i in range(ANNOTATORS)])
    user_ids = [u.pk for u in users]
    reliability = rng.uniform(0.4, 0.95, size=ANNOTATORS)
    n_videos = size // OVERLAP
    now = "2026-01-01 00:00:00+00"
    with connection.cursor() as cur:
        def next_ids(table, n):
            cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
            first = cur.fetchone()[0] + 1
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [first + n])
            return first

        prompt0 = next_ids("annotation_prompt", n_videos // 2 + 1)
        video0 = next_ids("annotation_video", n_videos)
        item0 = next_ids("annotation_campaignitem", n_videos)
        assign0 = next_ids("annotation_assignment", size)
        annot0 = next_ids("annotation_annotation", size)
        batch = 30_000 // OVERLAP
        for start in range(0, n_videos, batch):
            vids = range(start, min(start + batch, n_videos))
            prompts, videos, items, assignments, annotations = [], [], [], [], []
            truth = rng.integers(0, 3, size=(len(vids), 3))
            for row, v in enumerate(vids):
                pid = prompt0 + v // 2
                if v % 2 == 0:
                    text = f"bench {size} prompt {v // 2} a dog and a cat in a pot"
                    prompts.append(f"{pid}\t{text}\t{text}\tA detailed caption for {text}, at dusk.\t{{}}\tbench\t{now}\n")
                videos.append(f"{video0 + v}\tvideos/bench/{size}/{v}.mp4\t\t{pid}\tgenerated\tbench\t{{}}\t"
                              f"16\t8\t64\t64\t2\t\t{now}\n")
                items.append(f"{item0 + v}\t{campaign.pk}\t{video0 + v}\t0\t{OVERLAP}\t{OVERLAP}\tf\t{now}\n")
                for k in range(OVERLAP):
                    n = v * OVERLAP + k
                    who = (v * OVERLAP + k) % ANNOTATORS
                    ok = rng.random(3) < reliability[who]
                    labels = np.where(ok, truth[row], rng.integers(0, 3, size=3))
                    words = rng.choice(len(WORDS), size=6)
                    ratings = {dim: {"rating": LEVELS[labels[d]],
                                     "rationale": f"{LEVELS[labels[d]]}: {WORDS[words[d]]} and {WORDS[words[d + 3]]} "
                                                  f"look {'fine' if labels[d] == 0 else 'off'} in clip {n}."}
                               for d, dim in enumerate(("semantic", "motion", "fidelity"))}
                    assignments.append(f"{assign0 + n}\t{campaign.pk}\t{item0 + v}\t{user_ids[who]}\tsubmitted\t"
                                       f"{now}\t{now}\t\t{now}\n")
                    annotations.append(f"{annot0 + n}\t{assign0 + n}\t{campaign.pk}\t{item0 + v}\t{user_ids[who]}\t"
                                       f"{json.dumps(ratings)}\t{int(rng.integers(4000, 90000))}\tb{annot0 + n}\t"
                                       f"{'0' * 64}\tpending\t{now}\n")
            _copy(cur, "annotation_prompt", ["id", "text", "normalized", "caption", "categories", "source",
                                             "created_at"], prompts)
            _copy(cur, "annotation_video", ["id", "file", "poster", "prompt_id", "source", "generator",
                                            "generation_params", "frames", "fps", "width", "height", "duration",
                                            "sha256", "created_at"], videos)
            _copy(cur, "annotation_campaignitem", ["id", "campaign_id", "video_id", "priority", "slots_taken",
                                                   "annotations_done", "is_open", "added_at"], items)
            _copy(cur, "annotation_assignment", ["id", "campaign_id", "item_id", "annotator_id", "state", "leased_at",
                                                 "expires_at", "skip_reason", "updated_at"], assignments)
            _copy(cur, "annotation_annotation", ["id", "assignment_id", "campaign_id", "item_id", "annotator_id",
                                                 "ratings", "time_spent_ms", "idempotency_key", "request_hash",
                                                 "review_state", "created_at"], annotations)
        cur.execute("ANALYZE")
    return campaign.pk


def child_export(campaign_id: int, out: str) -> dict:
    from annotation.snapshots.export import snapshot_export

    started = time.perf_counter()
    manifest = snapshot_export(filters={"campaign_ids": [campaign_id]}, out_dir=Path(out))
    return {"seconds": round(time.perf_counter() - started, 2), "annotations": manifest["counts"]["annotations"]}


def child_quality(campaign_id: int) -> dict:
    import numpy as np

    from annotation.models import Campaign
    from annotation.quality.consensus import dawid_skene
    from annotation.quality.report import quality_figures
    from annotation.quality.tables import campaign_records, label_table

    campaign = Campaign.objects.get(pk=campaign_id)
    started = time.perf_counter()
    table = label_table(campaign_records(campaign=campaign), campaign.schema)
    read = time.perf_counter() - started
    figures = quality_figures(table, method="majority", samples=1000, seed=0)
    for d in range(len(table.dimensions)):
        dawid_skene(table.units, table.coders, table.labels[:, d].astype(np.int64), table.n_units, table.n_coders, 3)
    total = time.perf_counter() - started
    return {"seconds": round(total, 2), "read_seconds": round(read, 2),
            "alpha_semantic": figures["dimensions"]["semantic"]["alpha_ordinal"]}


def child_baseline() -> dict:
    import annotation.snapshots.export  # noqa: F401  (the same imports as an export, no work)

    return {"seconds": 0.0}


def measure(db_name: str, *args: str) -> dict:
    """Run this script in a child process; its own peak RSS comes from wait4's rusage."""
    proc = subprocess.Popen([sys.executable, __file__, "--db", db_name, *args], cwd=ROOT, env=_env(db_name),
                            stdout=subprocess.PIPE, text=True)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"child {args} failed")
    proc.returncode = 0
    result = json.loads(output.strip().splitlines()[-1])
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)  # Linux: kilobytes
    return result


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    free = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.strip()
    return f"nproc {os.cpu_count()}; CPU {cpu}\n\n```\n{free}\n```"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--db", default="lift_bench_snapshots", help="database of its own (dropped and re-created)")
    parser.add_argument("--reuse", action="store_true", help="keep the database and reuse campaigns already loaded")
    parser.add_argument("--child", choices=["export", "quality", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--campaign", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _django(args.db)
        result = {"export": lambda: child_export(args.campaign, args.out),
                  "quality": lambda: child_quality(args.campaign), "baseline": child_baseline}[args.child]()
        print(json.dumps(result))
        return
    if not args.reuse:
        create_database(args.db)
    _django(args.db)
    from annotation.models import Campaign

    results = {}
    baseline = measure(args.db, "--child", "baseline")
    print(f"baseline process (imports only): {baseline['peak_rss_mb']} MB", flush=True)
    for size in args.sizes:
        started = time.perf_counter()
        existing = Campaign.objects.filter(name=f"bench {size}").first() if args.reuse else None
        campaign_id = existing.pk if existing else populate(args.db, size)
        load = time.perf_counter() - started
        print(f"{size}: loaded in {load:.1f} s", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            export = measure(args.db, "--child", "export", "--campaign", str(campaign_id), "--out", f"{tmp}/snap")
        print(f"{size}: snapshot {export}", flush=True)
        quality = measure(args.db, "--child", "quality", "--campaign", str(campaign_id))
        print(f"{size}: agreement+consensus {quality}", flush=True)
        results[size] = {"load_s": round(load, 1), "export": export, "quality": quality}
    print(json.dumps({"baseline": baseline, "machine": machine(), "results": results}, indent=1))


if __name__ == "__main__":
    main()
