"""Snapshot API and job: create (deduplicated), run on the job runner, download; admins only."""
import io
import json
import threading
import zipfile

import pytest
from django.core.management import call_command
from django.db import connection

from alignment.models import Job
from alignment.services.jobs import job_run
from annotation.models import Snapshot
from annotation.snapshots.export import snapshot_export
from tests.conftest import submit, token_client
from tests.factories import CampaignFactory, ItemFactory, UserFactory, add_member
from tests.snapshots.util import rated_campaign


@pytest.fixture
def admin(db):
    return UserFactory(roles=["admin"])


def test_post_creates_a_snapshot_and_a_job_and_repeats_return_it(admin):
    campaign, *_ = rated_campaign(n_videos=4, n_annotators=2)
    client = token_client(admin)
    body = {"campaign_ids": [campaign.pk], "review_states": ["pending"]}
    first = client.post("/api/snapshots/", body, format="json")
    assert first.status_code == 201, first.content
    again = client.post("/api/snapshots/", body, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    job = Job.objects.get(pk=first.json()["job_id"])
    assert job.kind == "snapshot" and job.queue == "cpu" and Job.objects.count() == 1
    assert first.json()["number"] == 1 and first.json()["status"] == "pending"
    other = client.post("/api/snapshots/", {"campaign_ids": [campaign.pk]}, format="json")
    assert other.status_code == 201 and other.json()["number"] == 2


def test_download_is_409_until_ready_then_the_archive(admin):
    campaign, *_ = rated_campaign(n_videos=4, n_annotators=2)
    client = token_client(admin)
    created = client.post("/api/snapshots/", {"campaign_ids": [campaign.pk]}, format="json").json()
    pending = client.get(f"/api/snapshots/{created['id']}/download/")
    assert pending.status_code == 409 and pending.json()["code"] == "not_ready"
    job = job_run(job_id=created["job_id"])
    assert job.status == "succeeded", job.error
    assert job.result["counts"]["annotations"] == 8 and job.progress == 1.0
    assert "cut at annotation id" in job.log_tail
    detail = client.get(f"/api/snapshots/{created['id']}/").json()
    assert detail["status"] == "ready" and detail["counts"]["annotations"] == 8
    response = client.get(f"/api/snapshots/{created['id']}/download/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert {"manifest.json", "README.md", "lift_hra.json", "data/train.parquet", "data/consensus.jsonl"} <= set(
        archive.namelist())
    assert json.loads(archive.read("manifest.json"))["number"] == 1
    # A redelivered job finds the snapshot ready and leaves the archive as it is.
    Job.objects.filter(pk=job.pk).update(status="queued")
    snapshot = Snapshot.objects.get(pk=created["id"])
    before = open(snapshot.archive_path, "rb").read()
    assert job_run(job_id=job.pk).status == "succeeded"
    assert open(snapshot.archive_path, "rb").read() == before


@pytest.mark.parametrize("body,field", [
    ({"campaign_ids": [999999]}, "campaign_ids"),
    ({"review_states": ["lost"]}, "review_states"),
    ({"since": "yesterday"}, "since"),
    ({"seed": -1}, "seed"),
    ({"question_style": "klingon"}, "question_style"),
])
def test_bad_requests_are_400_with_the_field(admin, body, field):
    response = token_client(admin).post("/api/snapshots/", body, format="json")
    assert response.status_code == 400 and field in response.json()["fields"]
    assert not Snapshot.objects.exists() and not Job.objects.exists()


def test_snapshots_are_admin_only(people):
    for who in ("annotator", "reviewer"):
        client = token_client(people[who])
        assert client.get("/api/snapshots/").status_code == 403
        assert client.post("/api/snapshots/", {}, format="json").status_code == 403
    assert token_client(people["admin"]).get("/api/snapshots/424242/").status_code == 404
    assert token_client(None).get("/api/snapshots/").status_code in (401, 403)


def test_export_snapshot_command(db, tmp_path):
    campaign, *_ = rated_campaign(n_videos=2, n_annotators=2)
    out = io.StringIO()
    call_command("export_snapshot", "--campaign", str(campaign.pk), "--out", str(tmp_path / "cmd"), stdout=out)
    assert "4 annotations" in out.getvalue()
    assert (tmp_path / "lift-hra-snapshot-1.zip").is_file()
    assert json.loads((tmp_path / "cmd" / "manifest.json").read_text())["counts"]["annotations"] == 4


@pytest.mark.django_db(transaction=True)
def test_snapshot_is_one_consistent_cut_under_concurrent_submits(tmp_path):
    """Annotators keep submitting while the export runs: the snapshot holds exactly what was committed at
    its cut: nothing that arrived later, in any of its files."""
    campaign = CampaignFactory(overlap=1)
    items = [ItemFactory(campaign=campaign) for _ in range(40)]
    annotators = [add_member(campaign, UserFactory(roles=["annotator"])) for _ in range(4)]
    clients = [token_client(a) for a in annotators]

    def work(client, n):
        try:
            for _ in range(n):
                task = client.post(f"/api/campaigns/{campaign.pk}/next-task/")
                if task.status_code != 200:
                    return
                assert submit(client, task.json()["id"], time_spent_ms=9000).status_code == 201
        finally:
            connection.close()

    def count_elsewhere():
        # Counted on another connection: the export's own connection is inside its cut and sees none.
        seen = []
        thread = threading.Thread(target=lambda: (seen.append(campaign.annotations.count()), connection.close()))
        thread.start()
        thread.join()
        return seen[0]

    threads = [threading.Thread(target=work, args=(c, 3)) for c in clients]
    [t.start() for t in threads]
    [t.join() for t in threads]
    committed_before = campaign.annotations.count()
    assert committed_before == 12
    late = []

    def on_report(**kwargs):
        if kwargs.get("phase") == "cut" and not late:
            # The export's read has begun: annotators submit meanwhile, each in their own transaction.
            runners = [threading.Thread(target=work, args=(c, 2)) for c in clients]
            [t.start() for t in runners]
            [t.join() for t in runners]
            late.append(count_elsewhere() - committed_before)
            assert campaign.annotations.count() == committed_before

    manifest = snapshot_export(filters={"campaign_ids": [campaign.pk]}, out_dir=tmp_path / "cut", report=on_report,
                               chunk_size=3)
    assert late == [8]  # they were committed while the export ran ...
    assert manifest["counts"]["annotations"] == committed_before  # ... and none of them is in it
    rows = sum(len((tmp_path / "cut" / "data" / f"{s}.jsonl").read_text().splitlines())
               for s in ("train", "validation", "test"))
    consensus = [json.loads(line) for line in (tmp_path / "cut" / "data" / "consensus.jsonl").read_text().splitlines()]
    entries = json.loads((tmp_path / "cut" / "lift_hra.json").read_text())
    assert rows == committed_before
    assert sum(r["annotations"] for r in consensus) == committed_before == len(consensus)
    assert len(entries) == 3 * committed_before
    assert manifest["cut_max_id"] < max(campaign.annotations.values_list("id", flat=True))


@pytest.mark.django_db(transaction=True)
def test_snapshot_job_outside_a_test_transaction_reports_on_its_own_connection():
    """As on a worker: the export holds one long read transaction, progress is written beside it."""
    from alignment.services.jobs import job_kind_get

    campaign, *_ = rated_campaign(n_videos=3, n_annotators=2)
    params = job_kind_get("snapshot").validate(params={"filters": {"campaign_ids": [campaign.pk]}})
    job = Job.objects.create(kind="snapshot", params=params, dedupe_key="test", queue="cpu")
    job = job_run(job_id=job.pk)
    assert job.status == "succeeded", job.error
    job.refresh_from_db()
    assert job.progress == 1.0 and "cut at annotation id" in job.log_tail and job.metrics["annotations"] == 6
    snapshot = Snapshot.objects.get(job_id=job.pk)
    assert snapshot.status == "ready" and snapshot.counts["annotations"] == 6
