"""Critic benchmark on the tiny Qwen2-VL (CPU): scoring throughput and training step time.

Usage: .venv/bin/python bench/critic_bench.py [--repeats 5] [--threads 2]
       .venv/bin/python bench/critic_bench.py --learning [--setups ci,more_data,...]
Prints a markdown block; medians of several runs. Frames are pre-sampled arrays (decode excluded).
--learning runs the learning experiment of issue #6 (alignment/engine/critic/experiment.py) for
each named set-up, with and without reasons, and prints held-out accuracy against the oracle's
truth beside the majority baseline, per dimension, with training step time and scoring videos/s.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return (f"{cpu}, {os.cpu_count()} cores visible, torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}")


# Learning set-ups explored (see bench/RESULTS.md, Critic): each varies one thing from "ci".
LEARNING_SETUPS = {
    "ci": dict(train_videos=3000, steps=400, learning_rate=3e-4, rating_weight=5.0),
    "old": dict(train_videos=500, steps=400, learning_rate=1e-3),
    "patch7": dict(train_videos=3000, steps=400, learning_rate=3e-4, rating_weight=5.0, patch_size=7),
    "frames8": dict(train_videos=3000, steps=400, learning_rate=3e-4, rating_weight=5.0, num_frames=8),
    "long": dict(train_videos=6000, steps=1200, learning_rate=3e-4, rating_weight=5.0),
    "patch7_long": dict(train_videos=6000, steps=1500, learning_rate=3e-4, rating_weight=5.0, patch_size=7),
    "fidelity_patch7": dict(train_videos=6000, steps=1500, learning_rate=3e-4, rating_weight=5.0, patch_size=7,
                            dimensions=("fidelity",)),
    "fidelity_patch7_3000": dict(train_videos=12000, steps=3000, learning_rate=3e-4, rating_weight=5.0,
                                 patch_size=7, dimensions=("fidelity",)),
    "wide": dict(train_videos=3000, steps=400, learning_rate=3e-4, rating_weight=5.0, hidden_size=128),
    # After the fidelity defects were made visible at 56x56 (synthetic/render.py): lr and a curriculum.
    "fidelity_patch7_600": dict(train_videos=3000, steps=600, learning_rate=3e-4, rating_weight=5.0, patch_size=7,
                                dimensions=("fidelity",)),
    "fidelity_patch7_600_lr1e-3": dict(train_videos=3000, steps=600, learning_rate=1e-3, rating_weight=5.0,
                                       patch_size=7, dimensions=("fidelity",)),
    "fidelity_patch7_600_lr2e-3": dict(train_videos=3000, steps=600, learning_rate=2e-3, rating_weight=5.0,
                                       patch_size=7, dimensions=("fidelity",)),
    "curriculum_500_500": dict(train_videos=3000, steps=500, learning_rate=1e-3, rating_weight=5.0, patch_size=7,
                               first_dimensions=("fidelity",), first_steps=500),
    "curriculum_900_300": dict(train_videos=6000, steps=300, learning_rate=1e-3, rating_weight=5.0, patch_size=7,
                               first_dimensions=("fidelity",), first_steps=900),
    "fidelity_patch7_1200_lr1e-3": dict(train_videos=6000, steps=1200, learning_rate=1e-3, rating_weight=5.0,
                                        patch_size=7, dimensions=("fidelity",)),
    "curriculum_1200_400": dict(train_videos=6000, steps=400, learning_rate=1e-3, rating_weight=5.0, patch_size=7,
                                first_dimensions=("fidelity",), first_steps=1200),
    "curriculum_1200_400_lo": dict(train_videos=6000, steps=400, learning_rate=3e-4, first_learning_rate=1e-3,
                                   rating_weight=5.0, patch_size=7, first_dimensions=("fidelity",), first_steps=1200),
    "curriculum_1200_200_1e-4": dict(train_videos=6000, steps=200, learning_rate=1e-4, first_learning_rate=1e-3,
                                     rating_weight=5.0, patch_size=7, first_dimensions=("fidelity",), first_steps=1200),
    "curriculum_1500_300_lo": dict(train_videos=6000, steps=300, learning_rate=3e-4, first_learning_rate=1e-3,
                                   rating_weight=5.0, patch_size=7, first_dimensions=("fidelity",), first_steps=1500),
    "curriculum_1200_300_lora": dict(train_videos=6000, steps=300, learning_rate=1e-3, rating_weight=5.0, patch_size=7,
                                    first_dimensions=("fidelity",), first_steps=1200, then_finetune="lora"),
    "curriculum_1500_300_lora": dict(train_videos=6000, steps=300, learning_rate=1e-3, rating_weight=5.0, patch_size=7,
                                    first_dimensions=("fidelity",), first_steps=1500, then_finetune="lora"),
    "curriculum_1500_400_lo": dict(train_videos=6000, steps=400, learning_rate=3e-4, first_learning_rate=1e-3,
                                   rating_weight=5.0, patch_size=7, first_dimensions=("fidelity",), first_steps=1500),
}


def learning(names: list[str], reasons: tuple[bool, ...] = (True, False)) -> None:
    from alignment.engine.critic.experiment import LearningSetup, run_learning_experiment, summary
    from alignment.engine.critic.questions import DIMENSIONS

    print(f"Machine: {machine()}")
    print("| set-up | reasons | " + " | ".join(f"{d} (majority)" for d in DIMENSIONS)
          + " | train s | s/step | scoring videos/s |")
    print("|---|---|" + "---|" * (len(DIMENSIONS) + 3))
    for name in names:
        for with_reasons in reasons:
            setup = LearningSetup(with_reasons=with_reasons, **LEARNING_SETUPS[name])
            with tempfile.TemporaryDirectory() as tmp:
                report = run_learning_experiment(setup, tmp)
            cells = summary(report)
            print(f"| {name} | {'with' if with_reasons else 'without'} | "
                  + " | ".join(f"{cells[d]['accuracy']:.3f} ({cells[d]['majority']:.3f})" if d in cells else "–"
                               for d in DIMENSIONS)
                  + f" | {report['train_s']:.0f} | {report['step_s']:.2f} | {report['scoring_videos_per_s']:.1f} |",
                  flush=True)


def vision_probe(steps: int, learning_rate: float, patch_size: int, label: str) -> None:
    """The tiny critic's vision tower alone, with a linear head on its mean-pooled merged tokens,
    trained on `label` ("fidelity" truth, or "scene" as an easy control): does the tower learn it?"""
    import numpy as np
    import torch

    from alignment.engine.critic.questions import RATINGS
    from alignment.engine.critic.spec import VisionGeometry, load_critic, patchify
    from alignment.engine.critic.tiny import build_tiny_critic
    from alignment.engine.synthetic import oracle_judge, render, sample_defects, sample_prompt
    from alignment.engine.synthetic.grammar import SCENES

    torch.set_num_threads(1)
    rng = np.random.default_rng(5)
    videos, kinds, labels = [], [], []
    for index in range(2400):
        spec, defects = sample_prompt(rng), sample_defects(rng, 0.4)
        videos.append(render(spec, defects, frames=4, size=(56, 56), seed=index))
        kinds.append(f"{defects.fidelity.kind}-{defects.fidelity.severity}")
        labels.append(RATINGS.index(oracle_judge(spec, defects)["fidelity"].rating) if label == "fidelity"
                      else list(SCENES).index(spec.scene) % 3)
    with tempfile.TemporaryDirectory() as tmp:
        model, _, _ = load_critic(build_tiny_critic(Path(tmp) / "c", num_frames=4, patch_size=patch_size))
    geometry = VisionGeometry.from_config(model.config)
    patches = [patchify(v, geometry) for v in videos]
    y = torch.tensor(labels)
    tower = model.model.visual.train()
    head = torch.nn.Linear(model.config.text_config.hidden_size, 3)
    optimizer = torch.optim.AdamW([*tower.parameters(), *head.parameters()], lr=learning_rate)

    def logits(indices):
        pooled = tower(torch.cat([patches[i][0] for i in indices]),
                       grid_thw=torch.tensor([patches[i][1] for i in indices])).pooler_output
        return head(pooled.view(len(indices), -1, pooled.shape[-1]).mean(1))

    held_out = range(2100, 2400)
    started = time.perf_counter()
    for step in range(1, steps + 1):
        picked = rng.choice(2100, 32, replace=False)
        loss = torch.nn.functional.cross_entropy(logits(picked), y[picked])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 100 == 0 or step == steps:
            with torch.no_grad():
                hits = (logits(held_out).argmax(1) == y[2100:]).tolist()
            per_kind = {}
            for i, hit in zip(held_out, hits):
                per_kind.setdefault(kinds[i], []).append(hit)
            print(f"step {step}: held-out {np.mean(hits):.2f} ({time.perf_counter() - started:.0f} s)"
                  + ("; " + ", ".join(f"{k} {np.mean(v):.2f}" for k, v in sorted(per_kind.items()))
                     if label == "fidelity" and step == steps else ""), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--videos", type=int, default=16)
    parser.add_argument("--learning", action="store_true", help="run the learning set-ups instead of the timings")
    parser.add_argument("--setups", default="ci,old", help=f"comma-separated, from {', '.join(LEARNING_SETUPS)}")
    parser.add_argument("--reasons", choices=("both", "with", "without"), default="both")
    parser.add_argument("--probe", choices=("fidelity", "scene"), help="train the vision tower alone on this label")
    parser.add_argument("--probe-steps", type=int, default=400)
    parser.add_argument("--probe-lr", type=float, default=3e-4)
    parser.add_argument("--patch", type=int, default=14)
    args = parser.parse_args()
    if args.probe:
        vision_probe(args.probe_steps, args.probe_lr, args.patch, args.probe)
        return
    if args.learning:
        learning(args.setups.split(","), {"both": (True, False), "with": (True,), "without": (False,)}[args.reasons])
        return
    import torch

    torch.set_num_threads(args.threads)
    from alignment.engine.critic.data import ScoreItem
    from alignment.engine.critic.loss import answer_loss
    from alignment.engine.critic.score import score_videos
    from alignment.engine.critic.spec import Query, VisionGeometry, collate, load_critic
    from alignment.engine.critic.synthetic_data import annotated_examples, synthetic_videos
    from alignment.engine.critic.tiny import build_tiny_critic

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        critic_dir = build_tiny_critic(Path(tmp) / "critic")
        build_s = time.perf_counter() - started
        critic = load_critic(critic_dir)
        model, tokenizer, meta = critic
        params = sum(p.numel() for p in model.parameters())
        videos = synthetic_videos(args.videos, seed=0, frames=meta.num_frames, size=meta.frame_size)
        items = [ScoreItem(frames, caption) for frames, caption, _ in videos]
        score_videos(critic_dir, items[:2], critic=critic)  # warm-up
        rates = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            score_videos(critic_dir, items, batch_size=48, critic=critic)
            rates.append(len(items) / (time.perf_counter() - started))

        geometry = VisionGeometry.from_config(model.config)
        examples = annotated_examples(videos)[:32]
        queries = [Query(e.video, e.caption, e.dimension, e.rating, e.reason) for e in examples]
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
        step_times = {}
        for with_reason in (True, False):
            times = []
            for _ in range(args.repeats + 1):
                started = time.perf_counter()
                batch = collate(tokenizer, queries, geometry, with_reason=with_reason, with_answer=True)
                labels = batch.pop("labels")
                loss = answer_loss(model(**batch).logits, labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                times.append(time.perf_counter() - started)
            step_times[with_reason] = statistics.median(times[1:])

    print(f"Machine: {machine()}")
    print(f"Tiny critic: {params / 1e6:.2f}M parameters, {meta.num_frames} frames of "
          f"{meta.frame_size[0]}x{meta.frame_size[1]}, built in {build_s:.1f} s")
    print(f"| measure | median of {args.repeats} |\n|---|---|")
    print(f"| scoring throughput (3 dimensions per video, batch 48 queries) | {statistics.median(rates):.1f} videos/s |")
    print(f"| training step, batch 32 queries, with reasons | {step_times[True] * 1000:.0f} ms |")
    print(f"| training step, batch 32 queries, without reasons | {step_times[False] * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
