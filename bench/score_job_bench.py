"""Score-job throughput on the tiny critic (CPU): the platform path (decode mp4 from media, score, store one
row per video × dimension) beside the engine alone on pre-sampled frames, and an idempotent re-run.

Usage: .venv/bin/python bench/score_job_bench.py [--videos 32] [--repeats 3] [--threads 2]
Uses a throw-away PostgreSQL database (BENCH_PG, default postgres://postgres@127.0.0.1:5432); prints markdown.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import fresh_database, machine_description, setup_django  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    media = Path(tempfile.mkdtemp(prefix="score-bench-media-"))
    os.environ["MEDIA_ROOT"] = str(media)
    setup_django(fresh_database("lift_bench_score"))
    import torch

    torch.set_num_threads(args.threads)
    from alignment.engine.critic.data import ScoreItem, sample_frames
    from alignment.engine.critic.score import score_videos
    from alignment.engine.critic.spec import load_critic
    from alignment.engine.critic.synthetic_data import synthetic_videos
    from alignment.engine.critic.tiny import build_tiny_critic
    from alignment.engine.video_io import encode_video
    from alignment.models import VideoScore
    from alignment.services.scoring import scores_compute
    from alignment.services.registry import version_register
    from annotation.models import Prompt, Video

    critic_dir = build_tiny_critic(Path(tempfile.mkdtemp(prefix="score-bench-critic-")) / "critic")
    critic = version_register(kind="critic", name="bench", base=str(critic_dir))
    ids, frames, captions = [], [], []
    for index, (pixels, caption, _) in enumerate(synthetic_videos(args.videos, seed=11)):
        name = f"videos/bench-{index}.mp4"
        (media / "videos").mkdir(exist_ok=True)
        encode_video(pixels, media / name, fps=8)
        prompt = Prompt.objects.create(text=caption, normalized=f"{caption} {index}", caption=caption)
        ids.append(Video.objects.create(file=name, prompt=prompt,
                                        sha256=hashlib.sha256((media / name).read_bytes()).hexdigest()).pk)
        frames.append(pixels)
        captions.append(caption)
    loaded = load_critic(critic_dir)
    size = tuple(loaded[2].frame_size)
    items = [ScoreItem(sample_frames(f, loaded[2].num_frames, size), c) for f, c in zip(frames, captions)]

    platform_s, engine_s, rerun_s, decode_s = [], [], [], []
    for _ in range(args.repeats):
        VideoScore.objects.all().delete()
        started = time.perf_counter()
        summary = scores_compute(critic=critic, video_ids=ids)
        platform_s.append(time.perf_counter() - started)
        assert summary["scored"] == len(ids) and VideoScore.objects.count() == 3 * len(ids)
        started = time.perf_counter()
        assert scores_compute(critic=critic, video_ids=ids)["already_scored"] == len(ids)
        rerun_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        score_videos(None, items, batch_size=24, critic=loaded)
        engine_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        for index in range(args.videos):
            sample_frames(media / f"videos/bench-{index}.mp4", loaded[2].num_frames, size)
        decode_s.append(time.perf_counter() - started)

    platform, engine, rerun, decode = (statistics.median(x) for x in (platform_s, engine_s, rerun_s, decode_s))
    print(f"Machine: {machine_description()}; torch {torch.__version__} with {args.threads} threads; "
          f"load average {os.getloadavg()[0]:.1f}. {args.videos} synthetic videos (8 frames of 56×56 mp4), "
          f"tiny Qwen2-VL critic, medians of {args.repeats}.\n")
    print("| measure | figure |\n|---|---|")
    print(f"| score job path (decode mp4 + score + store {3 * args.videos} rows), first time | "
          f"{args.videos / platform:.2f} videos/s ({platform:.2f} s) |")
    print(f"| engine alone, frames pre-sampled | {args.videos / engine:.2f} videos/s ({engine:.2f} s) |")
    print(f"| decoding the mp4s alone, one after another (ffmpeg) | {decode / args.videos * 1000:.0f} ms per video |")
    print(f"| platform / engine time | {platform / engine:.2f}× |")
    print(f"| idempotent re-run (everything scored) | {rerun * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
