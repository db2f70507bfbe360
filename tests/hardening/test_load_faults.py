"""The load-with-faults bench at a CI size: 50 annotators against gunicorn + PostgreSQL + Redis through a
graceful reload, a hard kill and restart of gunicorn, and a SIGKILLed Celery worker with jobs queued.
The full size runs in `make bench` (bench/load_faults.py); figures in bench/RESULTS.md."""
import json
import os
import subprocess
import sys

import psycopg2
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_no_acknowledged_rating_is_lost_or_doubled_through_restarts_and_a_killed_worker(settings, tmp_path):
    database = settings.DATABASES["default"]
    report_path = tmp_path / "report.json"
    server = f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
    bench_db = f"{database['NAME']}_faults"
    try:
        result = subprocess.run(
            [sys.executable, "bench/load_faults.py", "--annotators", "50", "--items", "200", "--overlap", "2",
             "--jobs", "3", "--workers", "2", "--db", bench_db,
             "--redis-url", settings.CELERY_BROKER_URL, "--json", str(report_path)],
            cwd=ROOT, env={**os.environ, "BENCH_PG": server}, capture_output=True, text=True, timeout=420,
        )
    finally:
        conn = psycopg2.connect(f"{server}/postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{bench_db}" WITH (FORCE)')
        conn.close()
    assert report_path.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(report_path.read_text())
    failed = [name for name, passed in report["checks"].items() if not passed]
    assert not failed, json.dumps({"failed": failed, **{k: report[k] for k in (
        "invariants", "errors_by_kind", "server_errors", "server_errors_outside_windows", "faults", "celery")}}, indent=1)
    assert result.returncode == 0
    assert report["invariants"]["rows"] == report["invariants"]["acknowledged"] == 400
    # The faults were felt: the crash cut requests off, so clients saw errors and retried; the killed
    # worker's job ran a second time, on the replacement worker.
    assert report["errors_by_kind"], report
    killed = report["celery"]["running_at_kill"]
    assert killed and all(report["celery"]["attempts"][str(job)] >= 2 for job in killed), report["celery"]
