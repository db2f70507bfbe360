"""Critic benchmark on the tiny Qwen2-VL (CPU): scoring throughput and training step time.

Usage: .venv/bin/python bench/critic_bench.py [--repeats 5] [--threads 2]
Prints a markdown block; medians of several runs. Frames are pre-sampled arrays (decode excluded).
Whether the critic learns is bench/efficacy_bench.py's (--parts critic).
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--videos", type=int, default=16)
    args = parser.parse_args()
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
