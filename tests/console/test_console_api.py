"""The admin console's read-only API: overview aggregates and the video library."""
from datetime import timedelta

import pytest
from django.utils import timezone

from alignment.models import Job, ModelVersion
from tests.conftest import submit, token_client
from tests.factories import CampaignFactory, ItemFactory, VideoFactory

pytestmark = pytest.mark.django_db


def _annotate(client, campaign, n):
    for _ in range(n):
        lease = client.post(f"/api/campaigns/{campaign.pk}/next-task/")
        assert lease.status_code == 200
        assert submit(client, lease.json()["id"]).status_code == 201


def test_overview_counts_throughput_progress_models_and_workers(people, django_assert_max_num_queries):
    campaign = people["campaign"]  # 3 items, overlap 2
    _annotate(token_client(people["annotator"]), campaign, 2)
    _annotate(token_client(people["reviewer"]), campaign, 1)
    CampaignFactory(name="empty one")
    critic = ModelVersion.objects.create(kind="critic", name="c1", base="tiny", metrics={"mean_accuracy": 0.7},
                                         is_active=True)
    ModelVersion.objects.create(kind="critic", name="c0", base="tiny")
    now = timezone.now()
    running = Job.objects.create(kind="snapshot", dedupe_key="a", queue="cpu", status="running", worker="cpu-1",
                                 phase="rows", progress=0.4, heartbeat_at=now)
    Job.objects.create(kind="generate", dedupe_key="b", queue="gpu", status="succeeded", worker="gpu-0",
                       heartbeat_at=now - timedelta(minutes=5), finished_at=now)
    Job.objects.create(kind="generate", dedupe_key="c", queue="gpu", status="succeeded", worker="gone",
                       heartbeat_at=now - timedelta(hours=3), finished_at=now - timedelta(hours=3))
    Job.objects.create(kind="generate", dedupe_key="d", queue="gpu", status="queued")
    Job.objects.create(kind="snapshot", dedupe_key="e", queue="cpu", status="failed", finished_at=now)

    with django_assert_max_num_queries(15):
        response = token_client(people["admin"]).get("/api/console/overview/")
    assert response.status_code == 200
    body = response.json()

    assert len(body["throughput"]) == 14
    assert body["throughput"][-1] == {"day": now.date().isoformat(), "annotations": 3}
    assert sum(d["annotations"] for d in body["throughput"]) == 3

    row = next(c for c in body["campaigns"] if c["id"] == campaign.pk)
    assert (row["items"], row["overlap"], row["annotations"], row["target"], row["members"]) == (3, 2, 3, 6, 2)
    assert row["fraction"] == 0.5
    empty = next(c for c in body["campaigns"] if c["name"] == "empty one")
    assert (empty["items"], empty["target"], empty["fraction"]) == (0, 0, 0.0)

    assert body["models"]["critic"]["active"]["id"] == critic.pk
    assert body["models"]["critic"]["active"]["metrics"] == {"mean_accuracy": 0.7}
    assert body["models"]["critic"]["versions"] == 2
    assert body["models"]["generator"] == {"active": None, "versions": 0}

    workers = {w["worker"]: w for w in body["workers"]}
    assert set(workers) == {"cpu-1", "gpu-0"}  # "gone" has not been heard of for hours
    assert [j["id"] for j in workers["cpu-1"]["running"]] == [running.pk]
    assert workers["cpu-1"]["running"][0]["phase"] == "rows"
    assert workers["gpu-0"]["running"] == []
    assert body["workers"][0]["worker"] == "cpu-1"  # busy workers first
    assert body["jobs"] == {"queued": {"gpu": 1}, "running": {"cpu": 1}, "failed_last_day": 1}


def test_console_is_admin_only(people):
    for who in ("annotator", "reviewer"):
        client = token_client(people[who])
        assert client.get("/api/console/overview/").status_code == 403
        assert client.get("/api/console/videos/").status_code == 403
    assert token_client(None).get("/api/console/overview/").status_code in (401, 403)


def test_video_library_filters_by_job_and_campaign(people):
    admin = token_client(people["admin"])
    campaign = people["campaign"]
    made = [VideoFactory(generator="generator:1") for _ in range(3)]
    job = Job.objects.create(kind="generate", dedupe_key="g", status="succeeded",
                             result={"video_ids": [v.pk for v in made]})
    ItemFactory(campaign=campaign, video=made[0])

    body = admin.get(f"/api/console/videos/?job={job.pk}").json()
    assert body["total"] == 3
    assert sorted(v["id"] for v in body["results"]) == sorted(v.pk for v in made)
    assert {v["campaigns"] for v in body["results"]} == {0, 1}

    body = admin.get(f"/api/console/videos/?job={job.pk}&not_in_campaign={campaign.pk}").json()
    assert sorted(v["id"] for v in body["results"]) == sorted(v.pk for v in made[1:])

    body = admin.get("/api/console/videos/?generator=generator:1&limit=1").json()
    assert (body["total"], len(body["results"])) == (3, 1)
    assert body["results"][0]["prompt"] == made[-1].prompt.text  # newest first

    assert admin.get("/api/console/videos/?job=999999").status_code == 404
    bad = admin.get("/api/console/videos/?limit=0")
    assert bad.status_code == 400 and "limit" in bad.json()["fields"]


def test_job_detail_lists_the_files_a_job_made(people):
    artifacts = [{"name": "checkpoint-10", "path": "/jobs/align-1/checkpoint-10", "kind": "checkpoint"}]
    job = Job.objects.create(kind="align", dedupe_key="x", artifacts=artifacts)
    assert token_client(people["admin"]).get(f"/api/jobs/{job.pk}/").json()["artifacts"] == artifacts
