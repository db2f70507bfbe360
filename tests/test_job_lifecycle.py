"""Job dedupe and failure are the database's business: identical requests from parallel connections get
one job (a partial unique index on the dedupe key of unfinished jobs), and a crash in a run fails the job
with the error instead of leaving it running for the reaper."""
import threading
import time

import pytest
from django.db import connection, connections, transaction

from alignment.models import Job
from alignment.services import jobs
from alignment.services.jobs import JobKind, job_create, job_run
from tests.factories import PromptFactory


def _expand_request(prompt):
    return {"kind": "expand_prompts", "params": {"prompt_ids": [prompt.pk]}, "dispatch": False}


def _in_thread(target):
    """Run target on a connection of its own (every thread gets one), closed afterwards."""
    out = {}

    def run():
        try:
            out["value"] = target()
        except BaseException as exc:  # surfaced by the test
            out["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def _backends_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # a transaction otherwise keeps its first look
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_request_arriving_while_the_first_is_uncommitted_waits_for_it_and_gets_its_job():
    request = _expand_request(PromptFactory())
    with transaction.atomic():
        first, created = job_create(**request)
        assert created
        thread, second = _in_thread(lambda: job_create(**request))
        deadline = time.time() + 10
        while _backends_waiting_on_a_lock() == 0 and time.time() < deadline:
            time.sleep(0.05)
        # It cannot see the uncommitted row, so only the database can stop its insert: it waits.
        assert _backends_waiting_on_a_lock() == 1 and thread.is_alive(), "the second request did not wait"
    thread.join(10)
    assert "error" not in second, second
    job, created = second["value"]
    assert (job.pk, created) == (first.pk, False)
    assert Job.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_identical_requests_from_parallel_connections_get_one_job():
    request = _expand_request(PromptFactory())
    start = threading.Barrier(6)

    def ask():
        start.wait()
        job, created = job_create(**request)
        return job.pk, created

    threads = [_in_thread(ask) for _ in range(6)]
    for thread, _ in threads:
        thread.join(20)
    answers = [out.get("value") or out["error"] for _, out in threads]
    assert len({job_id for job_id, _ in answers}) == 1, answers
    assert sorted(created for _, created in answers) == [False] * 5 + [True]
    assert Job.objects.count() == 1


def test_a_crash_in_a_run_fails_the_job_with_the_error_and_is_raised(db, monkeypatch):
    def run(*, job, report):
        report(phase="about to fail", force=True)
        raise KeyError("checkpoint-7")

    monkeypatch.setitem(jobs._KINDS, "crashing", JobKind(name="crashing", queue=jobs.CPU,
                                                         validate=lambda *, params: params, run=run))
    job, _ = job_create(kind="crashing", params={}, dispatch=False)
    with pytest.raises(KeyError):
        job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and job.error == "KeyError: 'checkpoint-7'" and job.finished_at is not None


def test_a_retry_that_would_make_a_second_unfinished_copy_is_refused(db):
    request = _expand_request(PromptFactory())
    failed, _ = job_create(**request)
    Job.objects.filter(pk=failed.pk).update(status="failed")
    running, created = job_create(**request)
    assert created
    from lift.api_errors import Conflict

    with pytest.raises(Conflict, match="already queued or running"):
        jobs.job_retry(job=failed)
    failed.refresh_from_db()
    assert failed.status == "failed"
