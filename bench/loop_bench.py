"""Retraining-loop benchmark on CPU: tiny models and the synthetic world, from 300 simulated ratings to an
aligned generator. Wall time of the whole loop and the share of each stage.

Usage: .venv/bin/python bench/loop_bench.py [--videos 100] [--overlap 3] [--repeats 1]

1. A fresh PostgreSQL database; the tiny CogVideoX and the tiny critic are built in a temporary folder.
2. The synthetic world renders `videos` videos into a campaign through a generate job.
3. `simulate_annotators` rates them through the real HTTP API (gunicorn): videos × overlap ratings.
4. A `retrain_loop` runs every stage in this process, as `run_job retrain_loop` does. Each stage's time comes
   from the loop's own record (metrics.stages). With --repeats > 1, later loops start from the versions the
   earlier ones promoted, on the same ratings.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._harness import fresh_database, gunicorn, machine_description, setup_django  # noqa: E402

CRITIC = {"steps": 30, "batch_size": 8, "eval_every": 10, "checkpoint_every": 10, "lr": 3e-4}
ALIGN = {"steps": 8, "batch_size": 2, "lora_rank": 4, "learning_rate": 1e-2, "checkpoint_every": 4,
         "validation_every": 4, "real_weight": 0.0}
TINY_GENERATOR = {"frames": 9, "height": 32, "width": 32, "fps": 8, "steps": 2, "guidance": 1.0,
                  "max_sequence_length": 16}
SYNTHETIC = {"frames": 8, "height": 32, "width": 32, "fps": 8, "steps": 1}


def _rated_campaign(*, videos: int, overlap: int, base_url: str) -> tuple[int, float, int]:
    """Synthetic-world videos in a campaign, rated by simulated annotators over HTTP: (ratings, seconds, campaign)."""
    import numpy as np
    from django.core.management import call_command

    from alignment.engine.synthetic import sample_prompt
    from alignment.services.jobs import job_create, job_run
    from alignment.services.registry import version_register
    from annotation.models import Annotation
    from annotation.services.campaigns import campaign_create
    from annotation.services.prompts import prompt_create

    started = time.perf_counter()
    world = version_register(kind="generator", name="synthetic world", base="synthetic://world", config=SYNTHETIC)
    rng = np.random.default_rng(0)
    texts = list(dict.fromkeys(sample_prompt(rng).to_text() for _ in range(videos * 4)))[:videos // 4]
    prompts = [prompt_create(text=text, source="synthetic") for text in texts]
    campaign = campaign_create(name="rated by the simulation", overlap=overlap)
    job, _ = job_create(kind="generate", dispatch=False, params={
        "generator_version": world.pk, "prompt_ids": [p.pk for p in prompts], "seeds": [0, 1, 2, 3],
        "campaign": campaign.pk})
    assert job_run(job_id=job.pk).status == "succeeded"
    call_command("simulate_annotators", campaign=campaign.pk, annotators=overlap, base_url=base_url, noise=0.1,
                 stdout=open(os.devnull, "w"))
    return Annotation.objects.filter(campaign=campaign).count(), time.perf_counter() - started, campaign.pk


def _one_loop(*, source_campaign: int, next_round_campaign: int, critic_backbone: str, round_index: int) -> dict:
    from alignment.models import Job
    from alignment.services.jobs import job_create
    from alignment.loop.run import loop_run_foreground

    params = {"source_campaign_ids": [source_campaign], "next_round_campaign": next_round_campaign,
              "candidates": {"count": 4, "seed": 100 + round_index, "seeds": [0, 1]},
              "next_round": {"count": 4, "seed": 200 + round_index, "seeds": [0, 1]},
              "critic": {**CRITIC, "backbone": critic_backbone},
              "align": {"settings": ALIGN, "heldout": {"count": 2, "seed": 9, "seeds": [0]}}}
    loop, _ = job_create(kind="retrain_loop", params=params, dispatch=False)
    started = time.perf_counter()
    loop = loop_run_foreground(loop_id=loop.pk)
    wall = time.perf_counter() - started
    if loop.status != Job.Status.SUCCEEDED:
        raise SystemExit(f"loop {loop.pk} {loop.status}: {loop.error}")
    stages = {}
    for entry in loop.metrics["stages"]:
        seconds = (datetime.fromisoformat(entry["finished_at"]) - datetime.fromisoformat(entry["started_at"])).total_seconds()
        stages[entry["name"]] = {"seconds": seconds, "outcome": entry["outcome"]}
    return {"wall": wall, "stages": stages, "promoted": loop.result.get("generator_promoted"),
            "critic_promoted": loop.result.get("critic_promoted")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=100, help="synthetic videos to rate")
    parser.add_argument("--overlap", type=int, default=3, help="ratings per video (simulated annotators)")
    parser.add_argument("--repeats", type=int, default=1, help="whole loops to run one after another")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ.update({"MEDIA_ROOT": str(tmp / "media"), "LIFT_JOBS_DIR": str(tmp / "jobs"),
                           "LIFT_MODELS_DIR": str(tmp / "models")})
        database_url = fresh_database("lift_bench_loop")
        setup_django(database_url)
        import torch

        from alignment.engine.critic.tiny import build_tiny_critic
        from alignment.engine.tiny import build_tiny_cogvideox
        from alignment.services.registry import version_promote, version_register
        from annotation.services.campaigns import campaign_create
        from annotation.services.prompts import prompt_categories_ensure_defaults

        critic_dir = build_tiny_critic(tmp / "critic")
        generator = version_register(kind="generator", name="tiny cogvideox", config=TINY_GENERATOR,
                                     base=str(build_tiny_cogvideox(tmp / "cogvideox")))
        version_promote(version=generator)
        prompt_categories_ensure_defaults()
        with gunicorn(database_url, workers=2, threads=4) as (base_url, _):
            ratings, rating_seconds, rated = _rated_campaign(videos=args.videos, overlap=args.overlap,
                                                             base_url=base_url)
        next_round = campaign_create(name="next round", overlap=args.overlap).pk
        runs = [_one_loop(source_campaign=rated, next_round_campaign=next_round, critic_backbone=str(critic_dir),
                          round_index=i) for i in range(args.repeats)]

    walls = [run["wall"] for run in runs]
    wall = statistics.median(walls)
    print(f"## Retraining loop (bench/loop_bench.py)\n\nMachine: {machine_description()}; torch "
          f"{torch.__version__} with {torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.1f}.\n")
    print(f"{ratings} ratings of {args.videos} synthetic-world videos by {args.overlap} simulated annotators over "
          f"HTTP (rendering and rating: {rating_seconds:.0f} s, not part of the loop).\n")
    print(f"Whole loop, {len(runs)} run(s): median wall time **{wall:.0f} s** (runs: "
          f"{', '.join(f'{w:.0f}' for w in walls)} s).\n")
    print("| stage | median s | share of the loop | outcome (last run) |\n|---|---:|---:|---|")
    for name in runs[0]["stages"]:
        seconds = statistics.median(run["stages"][name]["seconds"] for run in runs)
        outcome = runs[-1]["stages"][name]["outcome"].replace("|", "/")[:110]
        print(f"| {name} | {seconds:.1f} | {seconds / wall:.1%} | {outcome} |")
    print(f"\nGenerator promoted by the rule (held-out reward rose): "
          f"{', '.join(str(run['promoted']) for run in runs)}; critic promoted: "
          f"{', '.join(str(run['critic_promoted']) for run in runs)}.")


if __name__ == "__main__":
    main()
