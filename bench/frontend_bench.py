"""Annotator workspace in a real browser: bundle size, submit → next video playing, time to first frame.

    python bench/frontend_bench.py            # builds nothing: run `make frontend` first
    python bench/frontend_bench.py --tasks 12 --append   # also append the figures to bench/RESULTS.md

gunicorn (4 workers × 4 threads) with whitenoise serving the collected build, on a database of its own;
Debian's Chromium through Playwright (headless). Media comes through Django's protected view (Range).
"submit → next video playing": from the click on Submit to the first frame of the next task's video
presented (requestVideoFrameCallback), with the page's prefetch, and with prefetch_url removed from
next-task answers for comparison (both runs go through the same request interception).
"""
import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import ROOT, fresh_database, free_port, machine_description, percentile, setup_django

DIST = ROOT / "frontend" / "dist"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
PASSWORD = "bench-password-123"

FIRST_FRAME_JS = """(prev) => new Promise((resolve) => {
  const t0 = performance.now();
  if (prev !== null) document.querySelector('[data-testid="submit"]').click();
  const look = () => {
    const view = document.querySelector('[data-testid="task-view"]');
    const v = document.querySelector('[data-testid="task-video"]');
    if (view && v && (prev === null || Number(view.dataset.assignmentId) !== prev)) {
      v.requestVideoFrameCallback(() => resolve({ sinceClick: performance.now() - t0, sinceNavigation: performance.now() }));
      return;
    }
    setTimeout(look, 2);
  };
  look();
})"""


def bundle_size() -> tuple[int, int]:
    raw = gz = 0
    for path in sorted((DIST / "assets").glob("*.js")):
        data = path.read_bytes()
        raw += len(data)
        gz += len(gzip.compress(data, compresslevel=9))
    return raw, gz


def render_videos(out: Path, n_distinct: int, n_files: int) -> list[dict]:
    import numpy as np

    from alignment.engine.synthetic import render, sample_prompt
    from alignment.engine.video_io import encode_video, write_poster

    rng = np.random.default_rng(3)
    distinct = []
    for i in range(n_distinct):
        spec = sample_prompt(rng)
        frames = render(spec, frames=48, size=(360, 640), seed=i)
        info = encode_video(frames, out / f"src{i}.mp4", fps=24)
        write_poster(frames, out / f"src{i}.jpg")
        distinct.append((spec.to_text(), info, i))
    files = []
    for j in range(n_files):
        text, info, i = distinct[j % n_distinct]
        (out / "videos").mkdir(exist_ok=True)
        (out / "posters").mkdir(exist_ok=True)
        shutil.copy(out / f"src{i}.mp4", out / "videos" / f"fb{j}.mp4")
        shutil.copy(out / f"src{i}.jpg", out / "posters" / f"fb{j}.jpg")
        files.append({"name": f"fb{j}", "text": f"{text} (#{j})", "info": info})
    return files


def seed(files: list[dict]):
    from annotation.models import Campaign, CampaignItem, CampaignMembership, Prompt, Video
    from annotation.roles import role_grant
    from django.contrib.auth import get_user_model

    campaign = Campaign.objects.create(name="frontend bench", overlap=1, lease_seconds=600)
    for f in files:
        info = f["info"]
        prompt = Prompt.objects.create(text=f["text"], normalized=f["text"].lower(), caption=f["text"])
        video = Video.objects.create(file=f"videos/{f['name']}.mp4", poster=f"posters/{f['name']}.jpg", prompt=prompt,
                                     frames=info.frames, fps=info.fps, width=info.width, height=info.height,
                                     duration=info.duration, sha256=f["name"])
        CampaignItem.objects.create(campaign=campaign, video=video)
    user = get_user_model().objects.create_user(username="bench-annotator", password=PASSWORD)
    role_grant(user=user, role="annotator")
    CampaignMembership.objects.create(campaign=campaign, user=user)
    return campaign


def serve(env: dict):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "lift.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "4",
         "--threads", "4", "--worker-class", "gthread", "--log-level", "warning"], cwd=ROOT, env=env)
    import requests

    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(base + "/api/auth/csrf/", timeout=5)
            break
        except requests.RequestException:  # refused or still booting
            time.sleep(0.2)
    return base, proc


def rate_all(page):
    for key, level in (("semantic", "Good"), ("motion", "Normal"), ("fidelity", "Bad")):
        page.get_by_test_id(f"rate-{key}-{level}").click()
        page.get_by_test_id(f"rationale-{key}").fill(f"{level} because of the bench.")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=12, help="tasks per variant (with / without prefetch)")
    parser.add_argument("--cold-loads", type=int, default=5)
    parser.add_argument("--append", action="store_true", help="append the figures to bench/RESULTS.md")
    args = parser.parse_args()
    if not (DIST / "index.html").exists():
        sys.exit("frontend/dist is missing: run `make frontend` first")

    work = Path(tempfile.mkdtemp(prefix="lift-frontend-bench-"))
    os.environ["LIFT_VAR_DIR"] = str(work)
    os.environ["MEDIA_ROOT"] = str(work / "media")
    (work / "media").mkdir()
    url = fresh_database("lift_bench_frontend")
    setup_django(url)
    from django.core.management import call_command

    call_command("collectstatic", "--noinput", verbosity=0)
    n_files = 2 * args.tasks + args.cold_loads + 4
    files = render_videos(work / "media", n_distinct=6, n_files=n_files)
    campaign = seed(files)
    raw, gz = bundle_size()

    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "lift.settings.test", "LOG_LEVEL": "WARNING"}
    base, proc = serve(env)
    from playwright.sync_api import sync_playwright

    results = {"prefetch": [], "no_prefetch": [], "ttff": []}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
            login = browser.new_context(base_url=base)
            login.request.post("/api/auth/login/", data={"username": "bench-annotator", "password": PASSWORD})
            state = login.storage_state()
            login.close()

            # Time to first frame of a task: cold cache (a new context each time), from navigation start.
            for _ in range(args.cold_loads):
                ctx = browser.new_context(base_url=base, storage_state=state, viewport={"width": 1366, "height": 768})
                page = ctx.new_page()
                page.goto(f"/campaigns/{campaign.pk}/work", wait_until="commit")
                results["ttff"].append(page.evaluate(FIRST_FRAME_JS, None)["sinceNavigation"])
                # Finish the task so the next cold load gets a fresh video.
                rate_all(page)
                prev = int(page.get_by_test_id("task-view").get_attribute("data-assignment-id"))
                page.evaluate(FIRST_FRAME_JS, prev)
                ctx.close()

            for variant in ("prefetch", "no_prefetch"):
                ctx = browser.new_context(base_url=base, storage_state=state, viewport={"width": 1366, "height": 768})
                page = ctx.new_page()

                def next_task(route, strip=(variant == "no_prefetch")):
                    response = route.fetch()
                    body = response.json() if response.status == 200 else None
                    if body is not None and strip:
                        body["prefetch_url"] = None
                    route.fulfill(response=response, json=body) if body is not None else route.fulfill(response=response)

                page.route("**/next-task/", next_task)
                page.goto(f"/campaigns/{campaign.pk}/work")
                page.evaluate(FIRST_FRAME_JS, None)
                for _ in range(args.tasks):
                    page.wait_for_timeout(1500)  # an annotator watches for a while: the prefetch has time to run
                    rate_all(page)
                    prev = int(page.get_by_test_id("task-view").get_attribute("data-assignment-id"))
                    results[variant].append(page.evaluate(FIRST_FRAME_JS, prev)["sinceClick"])
                ctx.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(20)
        shutil.rmtree(work, ignore_errors=True)

    size_kib = files[0]["info"].size_bytes / 1024
    med = {k: statistics.median(v) for k, v in results.items()}
    p90 = {k: percentile(v, 90) for k, v in results.items()}
    lines = [
        "## Annotator workspace",
        "",
        f"Machine: {machine_description()}; {subprocess.run(['/usr/bin/chromium', '--version'], capture_output=True, text=True).stdout.strip()} headless (Playwright), gunicorn 4×4 gthread + whitenoise, PostgreSQL, all on localhost.",
        "",
        f"Production bundle: {raw / 1024:.1f} KiB JS, **{gz / 1024:.1f} KiB gzipped** (sum over frontend/dist/assets/*.js, gzip -9).",
        "",
        f"Videos: {files[0]['info'].width}×{files[0]['info'].height}, {files[0]['info'].frames} frames at 24 fps, H.264 faststart, ~{size_kib:.0f} KiB each, through Django's protected media view.",
        "",
        "| measure | n | median (ms) | p90 (ms) |",
        "|---|---|---|---|",
        f"| submit → next video's first frame, with prefetch | {len(results['prefetch'])} | **{med['prefetch']:.0f}** | {p90['prefetch']:.0f} |",
        f"| submit → next video's first frame, prefetch_url removed | {len(results['no_prefetch'])} | {med['no_prefetch']:.0f} | {p90['no_prefetch']:.0f} |",
        f"| time to first frame of a task (cold cache, from navigation start) | {len(results['ttff'])} | {med['ttff']:.0f} | {p90['ttff']:.0f} |",
        "",
        "Target: submit → next video playing < 300 ms on localhost.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    print("raw:", {k: [round(x) for x in v] for k, v in results.items()})
    if args.append:
        results_md = ROOT / "bench" / "RESULTS.md"
        existing = results_md.read_text() if results_md.exists() else "# Bench results\n"
        results_md.write_text(existing.rstrip("\n") + "\n\n" + text)


if __name__ == "__main__":
    main()
