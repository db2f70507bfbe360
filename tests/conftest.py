import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

GOOD_RATINGS = {
    "semantic": {"rating": "Good", "rationale": "Matches the text."},
    "motion": {"rating": "Normal", "rationale": "A little jitter in the middle."},
    "fidelity": {"rating": "Bad", "rationale": "Heavy block artifacts."},
}


@pytest.fixture(autouse=True)
def _media_root(request, tmp_path):
    """Each test writes media into a folder of its own (engine runs without Django are left alone)."""
    if not request.config.pluginmanager.hasplugin("django"):
        return
    settings = request.getfixturevalue("settings")
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()


@pytest.fixture
def models_dir(tmp_path, settings, monkeypatch):
    """Where jobs find and write models (checkpoints, adapters, the pretrained tiny models installed on first
    use), for this process and for workers it starts."""
    folder = tmp_path / "models"
    settings.LIFT = {**settings.LIFT, "MODELS_DIR": folder}
    monkeypatch.setenv("LIFT_MODELS_DIR", str(folder))
    return folder


def token_client(user):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def people(db):
    """One of each role around a campaign: member annotator, reviewer, admin, and an outsider."""
    from tests.factories import CampaignFactory, ItemFactory, UserFactory, add_member

    campaign = CampaignFactory(overlap=2)
    items = [ItemFactory(campaign=campaign) for _ in range(3)]
    annotator = add_member(campaign, UserFactory(roles=["annotator"]))
    reviewer = add_member(campaign, UserFactory(roles=["reviewer"]))
    admin = UserFactory(roles=["admin"])
    outsider = UserFactory(roles=["annotator"])
    return {"campaign": campaign, "items": items, "annotator": annotator, "reviewer": reviewer,
            "admin": admin, "outsider": outsider}


def submit(client, assignment_id, ratings=None, key=None, time_spent_ms=1000):
    return client.post(
        f"/api/assignments/{assignment_id}/submit/",
        {"ratings": ratings or GOOD_RATINGS, "time_spent_ms": time_spent_ms},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()),
    )


def _test_database_url() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(*, queues: str = "cpu,gpu", env: dict | None = None) -> subprocess.Popen:
    """A real Celery worker process on the real Redis broker, pointed at the test database (`env` adds to
    or overrides its environment)."""
    from django.conf import settings

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "lift.settings.test", "DATABASE_URL": _test_database_url(),
           "MEDIA_ROOT": str(settings.MEDIA_ROOT), "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "lift", "worker", "-Q", queues, "--concurrency", "1",
         "--pool", "solo", "--loglevel", "INFO", "--without-heartbeat", "--without-gossip", "--without-mingle",
         "-n", f"test-{uuid.uuid4().hex[:6]}@%h"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.time() + 90
    lines = []
    while time.time() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "ready." in line:
            break
        if proc.poll() is not None:
            raise RuntimeError("Celery worker died:\n" + "".join(lines))
    else:
        proc.kill()
        raise RuntimeError("Celery worker did not start:\n" + "".join(lines))
    # Keep reading its output, or a full pipe would block the worker.
    threading.Thread(target=lambda: [lines.append(line) for line in proc.stdout], daemon=True).start()
    proc.output_lines = lines
    return proc


def stop_worker(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def celery_worker_process(transactional_db, settings):
    """A worker for one test (the test's media root and the committed test database)."""
    import redis

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    proc = start_worker()
    yield proc
    stop_worker(proc)


def processes_naming(text: str) -> list[Path]:
    """The /proc entries of running processes whose command line contains `text` (a run's spec path)."""
    def command_line(path: Path) -> str:
        try:
            return path.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return ""

    return [path for path in Path("/proc").glob("[0-9]*/cmdline") if text in command_line(path)]
