"""Generation overhead: a generate job for N videos through a real Celery worker vs the raw `pipe(...)` calls.

    .venv/bin/python bench/generation_bench.py [--videos 4] [--repeats 3] [--frames 25] [--size 96] [--steps 10]

The job side is what an admin's request costs: dispatch through Redis to a worker that already holds
the model, the generation itself, encoding (ffmpeg, poster, ffprobe read-back, sha256), storage and
the database writes, until the job row says it succeeded. The raw side calls the same loaded
pipeline with the same captions, seeds and settings in this process. Runs alternate, so a busy
machine weighs on both. Needs PostgreSQL (BENCH_PG) and Redis (BENCH_REDIS); builds the tiny
CogVideoX itself. Prints a Markdown block for bench/RESULTS.md ("## Generation").
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import ROOT, fresh_database, machine_description, setup_django  # noqa: E402

REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14")


def start_worker(env: dict) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "lift", "worker", "-Q", "gpu", "--concurrency", "1", "--pool", "solo",
         "--loglevel", "INFO", "--without-heartbeat", "--without-gossip", "--without-mingle",
         "-n", f"bench-{uuid.uuid4().hex[:6]}@%h"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines, deadline = [], time.time() + 120
    while time.time() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "ready." in line:
            import threading

            threading.Thread(target=lambda: [lines.append(x) for x in proc.stdout], daemon=True).start()
            proc.output_lines = lines
            return proc
        if proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("the Celery worker did not start:\n" + "".join(lines))


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and of its finished children (the worker's ffmpeg/ffprobe runs)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def run_job(params: dict, videos: int, worker_pid: int) -> tuple[float, float]:
    """Seconds from the request to the job row saying it succeeded (as an admin's client would see),
    and the CPU seconds the worker spent on it."""
    from alignment.models import Job
    from alignment.services.jobs import job_create

    cpu_before = process_cpu_seconds(worker_pid)
    started = time.perf_counter()
    job, created = job_create(kind="generate", params=params)
    assert created, "a bench job must be new"
    while True:
        job.refresh_from_db(fields=["status", "result", "error"])
        if job.status in Job.FINISHED:
            break
        time.sleep(0.05)  # an admin client polls; faster polling would load the shared database
    elapsed = time.perf_counter() - started
    if job.status != "succeeded" or job.result.get("generated") != videos:
        raise RuntimeError(f"job {job.pk} {job.status}: {job.error} {job.result}")
    return elapsed, process_cpu_seconds(worker_pid) - cpu_before


def run_raw(pipe, spec, captions: list[str], seed: int) -> tuple[float, float]:
    import torch

    cpu_before = process_cpu_seconds(os.getpid())
    started = time.perf_counter()
    for caption in captions:
        with torch.inference_mode():
            pipe(prompt=caption, num_frames=spec.frames, height=spec.height, width=spec.width,
                 num_inference_steps=spec.steps, guidance_scale=spec.guidance,
                 max_sequence_length=spec.max_sequence_length,
                 generator=torch.Generator("cpu").manual_seed(seed), output_type="np")
    return time.perf_counter() - started, process_cpu_seconds(os.getpid()) - cpu_before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=4, help="videos per job (N prompts × 1 seed)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--frames", type=int, default=25, help="8k+1")
    parser.add_argument("--size", type=int, default=96, help="height = width, a multiple of 16")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2, help="torch threads, here and in the worker")
    args = parser.parse_args()

    media = Path(tempfile.mkdtemp(prefix="generation-bench-"))
    database_url = fresh_database("lift_bench_generation")
    os.environ.update(REDIS_URL=REDIS, CELERY_BROKER_URL=REDIS, MEDIA_ROOT=str(media / "media"),
                      OMP_NUM_THREADS=str(args.threads), LOG_LEVEL="WARNING")
    setup_django(database_url)
    import redis
    import torch

    torch.set_num_threads(args.threads)
    from alignment.engine.expand import TemplateExpander
    from alignment.engine.generation import load_pipeline
    from alignment.engine.synthetic import distinct_prompts
    from alignment.engine.tiny import build_tiny_cogvideox
    from alignment.services.generation import generator_spec
    from alignment.services.registry import version_register
    from annotation.services.prompts import prompt_create

    redis.Redis.from_url(REDIS).flushdb()
    base = build_tiny_cogvideox(media / "cogvideox-tiny")
    version = version_register(kind="generator", name="tiny cogvideox (bench)", base=str(base), config={
        "frames": args.frames, "height": args.size, "width": args.size, "fps": 8, "steps": args.steps,
        "guidance": 1.0, "max_sequence_length": 16})
    texts = distinct_prompts(args.videos, seed=0)
    prompts = [prompt_create(text=text, source="bench") for text in texts]
    captions = [TemplateExpander().expand(p.text) for p in sorted(prompts, key=lambda p: p.pk)]
    params = {"generator_version": version.pk, "prompt_ids": [p.pk for p in prompts]}

    worker = start_worker({**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "lift.settings.test",
                           "PYTHONUNBUFFERED": "1"})
    try:
        # The worker loads the model and the captions are written; then warm this side too.
        run_job({**params, "seeds": [10_000]}, args.videos, worker.pid)
        spec = generator_spec(version=version)
        pipe = load_pipeline(spec)
        run_raw(pipe, spec, captions[:1], 10_000)
        job_runs, raw_runs = [], []
        for repeat in range(args.repeats):
            order = ("raw", "job") if repeat % 2 == 0 else ("job", "raw")
            for side in order:
                if side == "raw":
                    raw_runs.append(run_raw(pipe, spec, captions, repeat))
                else:
                    job_runs.append(run_job({**params, "seeds": [repeat]}, args.videos, worker.pid))
            print(f"repeat {repeat}: job {job_runs[-1][0]:.2f} s ({job_runs[-1][1]:.2f} s CPU), "
                  f"raw {raw_runs[-1][0]:.2f} s ({raw_runs[-1][1]:.2f} s CPU)", file=sys.stderr)
    finally:
        worker.terminate()
        worker.wait(30)

    job_median, raw_median = (statistics.median(run[0] for run in runs) for runs in (job_runs, raw_runs))
    job_cpu, raw_cpu = (statistics.median(run[1] for run in runs) for runs in (job_runs, raw_runs))
    ratios = [j[0] / r[0] for j, r in zip(job_runs, raw_runs, strict=True)]
    print(f"""
### Platform overhead on the tiny CogVideoX (CPU)
Machine: {machine_description()}; torch {torch.__version__}, {args.threads} threads; load average at the end
{os.getloadavg()[0]:.1f}. A job of {args.videos} videos ({args.frames} frames, {args.size}×{args.size},
{args.steps} steps, guidance off), {args.repeats} repeats, new seeds each time, model already loaded in the worker.

| | wall, median for {args.videos} videos | per video | CPU time, median |
|---|---|---|---|
| raw `pipe(...)` calls | {raw_median:.2f} s | {raw_median / args.videos:.2f} s | {raw_cpu:.2f} s |
| generate job (Redis → worker → generate, encode, ffprobe, store, DB) | {job_median:.2f} s | {job_median / args.videos:.2f} s | {job_cpu:.2f} s |
| **ratio** (target ≤ 1.10) | **{job_median / raw_median:.3f}** | | **{job_cpu / raw_cpu:.3f}** |

Per-repeat wall ratios: {", ".join(f"{r:.3f}" for r in ratios)}. CPU time is the worker's (with its ffmpeg and
ffprobe children) against this process's during the raw calls; it is what other processes on a shared machine
disturb least.
""")


if __name__ == "__main__":
    main()
