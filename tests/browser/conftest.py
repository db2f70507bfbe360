"""Browser tests: a real Chromium (Debian's, never a downloaded one) against the live Django server
serving the built frontend, with real little H.264 videos in MEDIA_ROOT."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

# Playwright's sync API keeps an asyncio loop registered on this thread; the ORM calls made by the
# test itself (seeding, checking rows) are ordinary synchronous code, so Django may allow them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent.parent
DIST = ROOT / "frontend" / "dist"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("LIFT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
PASSWORD = "pw-for-tests-123"  # tests.factories.UserFactory's
N_VIDEOS = 5


@pytest.fixture(scope="session")
def frontend_dist():
    """The production build, built once when missing (`make test` builds it before pytest)."""
    if not (DIST / "index.html").exists():
        subprocess.run("npm ci --no-audit --no-fund && npm run build", shell=True, check=True, cwd=ROOT / "frontend")
        # Settings only list the dist among STATICFILES_DIRS when it existed at import time.
        from django.conf import settings
        from django.contrib.staticfiles import finders

        settings.STATICFILES_DIRS = [("app", DIST)]
        finders.get_finder.cache_clear()
    return DIST


@pytest.fixture(scope="session")
def rendered_videos(tmp_path_factory):
    """A few real H.264 MP4s (and posters) from the synthetic world, rendered once per session."""
    import numpy as np

    from alignment.engine.synthetic import render, sample_prompt
    from alignment.engine.video_io import encode_video, write_poster

    out = tmp_path_factory.mktemp("videos")
    rng = np.random.default_rng(7)
    videos = []
    for i in range(N_VIDEOS):
        spec = sample_prompt(rng)
        frames = render(spec, frames=16, size=(144, 256), seed=i)
        info = encode_video(frames, out / f"b{i}.mp4", fps=8)
        write_poster(frames, out / f"b{i}.jpg")
        videos.append({"name": f"b{i}", "text": spec.to_text(), "info": info})
    return out, videos


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def seed(transactional_db, settings, rendered_videos):
    """A campaign of N_VIDEOS real videos and an annotator member who signs in with a password.

    `seed(prompt_texts=..., guidelines=..., **campaign_fields)` returns a dict of the rows.
    """
    from annotation.models import Campaign, CampaignItem, Prompt, Video
    from tests.factories import UserFactory, add_member

    src, videos = rendered_videos

    def make(prompt_texts=None, guidelines="# Guidelines\n\nRate **each** dimension.", **fields):
        (Path(settings.MEDIA_ROOT) / "videos").mkdir(parents=True, exist_ok=True)
        (Path(settings.MEDIA_ROOT) / "posters").mkdir(parents=True, exist_ok=True)
        campaign = Campaign.objects.create(name=fields.pop("name", "Browser campaign"), guidelines=guidelines,
                                           overlap=fields.pop("overlap", 1), **fields)
        rows = []
        for i, v in enumerate(videos):
            shutil.copy(src / f"{v['name']}.mp4", Path(settings.MEDIA_ROOT) / "videos" / f"{v['name']}.mp4")
            shutil.copy(src / f"{v['name']}.jpg", Path(settings.MEDIA_ROOT) / "posters" / f"{v['name']}.jpg")
            text = prompt_texts[i] if prompt_texts and i < len(prompt_texts) else v["text"]
            prompt, _ = Prompt.objects.get_or_create(normalized=text.lower(), defaults={"text": text, "caption": f"A detailed scene: {text}."})
            info = v["info"]
            video = Video.objects.create(
                file=f"videos/{v['name']}.mp4", poster=f"posters/{v['name']}.jpg", prompt=prompt,
                frames=info.frames, fps=info.fps, width=info.width, height=info.height, duration=info.duration,
            )
            rows.append(CampaignItem.objects.create(campaign=campaign, video=video))
        annotator = add_member(campaign, UserFactory(username="ana", roles=["annotator"]))
        return {"campaign": campaign, "items": rows, "annotator": annotator}

    return make


@pytest.fixture
def media_with_ranges(monkeypatch):
    """Django's live server answers /media/ itself (django.views.static.serve, no Range), so a browser cannot
    seek in a video: it jumps back to 0. With this fixture the app's own media view answers, with Range and
    its access checks, as in production. Tests that seek or frame-step use it."""
    from django.test.testcases import _MediaFilesHandler

    monkeypatch.setattr(_MediaFilesHandler, "_should_handle", lambda self, path: False)


@pytest.fixture
def page(browser, live_server, frontend_dist):
    """A fresh browser context at 1366×768; any JS dialog other than beforeunload fails the test."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.dialogs = []
    page.console_errors = []

    def on_dialog(dialog):
        page.dialogs.append((dialog.type, dialog.message))
        if dialog.type == "beforeunload":
            dialog.accept()  # leaving with a draft asks first; the tests mean to leave
        else:
            dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda err: page.console_errors.append(str(err)))
    yield page
    context.close()


def sign_in(page, username="ana", password=PASSWORD, path="/"):
    """Through the login form, as a person would."""
    page.goto(path)
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("current-user").wait_for()


def open_task(page, campaign):
    page.goto(f"/campaigns/{campaign.pk}/work")
    page.get_by_test_id("task-view").wait_for()
    return int(page.get_by_test_id("task-view").get_attribute("data-assignment-id"))
