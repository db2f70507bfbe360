"""The annotation hot path on the embedded default (SQLite), which `make demo` runs on: the suite's other tests
use PostgreSQL, where leases and submits take hand-written statements that SQLite does not run."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Runs in a fresh interpreter: Django is configured once per process, and this one's is PostgreSQL.
SCRIPT = r"""
import json, os, sys, uuid
import django
django.setup()
from django.conf import settings
settings.ALLOWED_HOSTS.append("testserver")
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from annotation.models import Annotation, Campaign, CampaignItem, CampaignMembership, Prompt, Video

campaign = Campaign.objects.create(name="embedded", overlap=1)
for i in range(3):
    prompt = Prompt.objects.create(text=f"prompt {i}", normalized=f"prompt {i}")
    CampaignItem.objects.create(campaign=campaign, video=Video.objects.create(file=f"videos/{i}.mp4", prompt=prompt))
user = get_user_model().objects.create(username="annotator")
CampaignMembership.objects.create(campaign=campaign, user=user)
client = APIClient()
client.credentials(HTTP_AUTHORIZATION="Token " + Token.objects.create(user=user).key)
ratings = {d: {"rating": "Normal", "rationale": "so-so"} for d in ("semantic", "motion", "fidelity")}
lease = client.post(f"/api/campaigns/{campaign.pk}/next-task/").json()
held = client.post(f"/api/campaigns/{campaign.pk}/next-task/").json()["id"] == lease["id"]
seen, answers = [], []
while lease:
    seen.append((lease["prompt"]["text"], lease["prefetch_url"]))
    key = str(uuid.uuid4())
    submit = lambda: client.post(f"/api/assignments/{lease['id']}/submit/?next=1",
                                 {"ratings": ratings, "time_spent_ms": 5}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    first, replay = submit(), submit()
    answers.append([first.status_code, replay.status_code, first.json() == replay.json()])
    lease = first.json()["next"]
print(json.dumps({"held": held, "seen": seen, "answers": answers, "annotations": Annotation.objects.count(),
                  "items": list(CampaignItem.objects.order_by("id").values_list("annotations_done", "slots_taken", "is_open"))}))
"""


def test_lease_submit_and_next_on_the_embedded_database(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'lift.sqlite3'}",
           "DJANGO_SETTINGS_MODULE": "lift.settings.test"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["held"]  # asking again while holding a lease answers that lease
    # Every item served once, in order, each answer prefetching the next item's video (none after the last).
    assert result["seen"] == [["prompt 0", "/media/videos/1.mp4"], ["prompt 1", "/media/videos/2.mp4"],
                              ["prompt 2", None]]
    # Each submit created once (201), its replay answered the same (200), nothing doubled.
    assert result["answers"] == [[201, 200, True]] * 3
    assert result["annotations"] == 3
    assert result["items"] == [[1, 1, False]] * 3
