"""The loop in the synthetic world, end to end (issue "prove the loop", deliverable 5): a world library the team
starts from (600 renders, rated once, as LiFT-HRA), then 300 simulated ratings of the pretrained tiny generator's
videos beside 300 of world renders → one retrain_loop → a critic and an aligned generator promoted by the
registry's rules, the pixel judge's held-out figures before and after; then a second round on the new generator's
videos. One command:

    .venv/bin/python bench/loop_bench.py [--rounds 2] [--world-prompts 100] [--library-prompts 300]

Writes the figures to bench/results/efficacy.json (section "loop", or --section) and prints a summary for RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._harness import fresh_database, gunicorn, machine_description, setup_django  # noqa: E402
from bench.loop_chain import ChainSize, run_chain  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "efficacy.json"


def parse_size(argv: list[str] | None = None) -> tuple[ChainSize, str]:
    """The chain's size and the efficacy.json section from the command line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--world-prompts", type=int, default=100,
                        help="world renders (one seed each) rated beside the generator's videos in every round")
    parser.add_argument("--draw", type=int, default=0,
                        help="another draw of the same chain: its prompts, candidates and the annotators' noise")
    parser.add_argument("--no-accumulate", action="store_true",
                        help="each round's critic learns from that round's campaign only, not every one rated so far")
    parser.add_argument("--rated-prompts", type=int, default=25,
                        help="the active generator's prompts rated each round (4 seeds each)")
    parser.add_argument("--world-seeds", type=int, default=1, help="seeds of each world prompt rated each round")
    parser.add_argument("--library-prompts", type=int, default=300,
                        help="a world library: this many world prompts × 2 seeds rendered and rated once each before "
                             "round 0, in every round's snapshot (a public dataset the team starts from, as LiFT-HRA); "
                             "0: none, as every run before 2026-12-07's eighteenth session")
    parser.add_argument("--overlap", type=int, default=3,
                        help="ratings per video; with 1, the same ratings cover three times as many videos")
    parser.add_argument("--rate-challenger", action="store_true",
                        help="after a refused promotion, the next campaign also holds the refused generator's videos")
    parser.add_argument("--gate", choices=("critic", "people", "critic_first"), default="critic",
                        help="the loop's generator_gate. people: each aligned generator waits, the next round rates "
                             "its videos beside the active one's, and the next loop promotes or retires it by them; "
                             "critic_first: only one the critic refuses waits for people")
    parser.add_argument("--people-gate", dest="gate", action="store_const", const="people",
                        help="the same as --gate people (the sections of 2026-12-07 were run with it)")
    parser.add_argument("--review-pairwise", action="store_true",
                        help="with --gate people or critic_first: a waiting generator's videos go beside the active "
                             "one's into a pairwise campaign, so people compare the two instead of rating each")
    parser.add_argument("--section", default="loop",
                        help="efficacy.json's section for the figures, and the bench database's name, so that two "
                             "settings can run side by side (give each its own REDIS_URL too)")
    args = parser.parse_args(argv)
    if args.review_pairwise and args.gate == "critic":
        parser.error("--review-pairwise needs a gate that lets people decide: --gate people or critic_first")
    size = ChainSize(rounds=args.rounds, world_prompts=args.world_prompts, draw=args.draw,
                     accumulate=not args.no_accumulate, rated_prompts=args.rated_prompts,
                     world_seeds=tuple(range(args.world_seeds)), overlap=args.overlap, annotators=3,
                     rate_challenger=args.rate_challenger, generator_gate=args.gate,
                     review_pairwise=args.review_pairwise, library_prompts=args.library_prompts)
    return size, args.section


def main() -> None:
    size, section = parse_size()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ.update({"MEDIA_ROOT": str(tmp / "media"), "LIFT_JOBS_DIR": str(tmp / "jobs"),
                           "LIFT_MODELS_DIR": str(tmp / "models")})
        database_url = fresh_database(f"lift_bench_{section}")
        setup_django(database_url)
        from alignment.engine.pretrain import install_shipped

        pretrained = install_shipped(tmp / "models")
        started = time.perf_counter()
        with gunicorn(database_url, workers=2, threads=4) as (base_url, _):
            report = run_chain(base_url=base_url, pretrained=pretrained, size=size)
        report["wall_s"] = round(time.perf_counter() - started, 1)
    report["machine"] = machine_description()
    report["load_average"] = os.getloadavg()[0]
    figures = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    figures[section] = report
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=1))
    print(f"## The loop (bench/loop_bench.py)\n\nMachine: {report['machine']}; load average {report['load_average']:.1f}; "
          f"whole chain {report['wall_s']:.0f} s.\n")
    if library := report.get("library"):
        print(f"World library: {library['videos']} renders, {library['ratings']} ratings, {library['seconds']:.0f} s.\n")
    print("| round | ratings | judged (rated videos) | loop s | critic promoted | generator promoted | "
          "held-out critic reward | held-out judged | reward hacking |\n|---|---:|---:|---:|---|---|---|---|---|")
    for r in report["rounds"]:
        print(f"| {r['round']} | {r['ratings']} | {r['judged_rated_videos']['mean_reward']:.3f} | {r['loop_s']:.0f} | "
              f"{r['critic_promoted']} | {r['generator_promoted']} | "
              f"{' → '.join(f'{v:.3f}' for v in r['heldout_critic_reward'] if v is not None)} | "
              f"{' → '.join(f'{v:.3f}' for v in r['heldout_judged'] if v is not None)} | {r['reward_hacking']} |")


if __name__ == "__main__":
    main()
