"""Load with faults: synthetic annotators work a campaign against gunicorn + PostgreSQL + Redis while the web
server is reloaded (SIGHUP), then hard-killed (SIGKILL of the master) and restarted, and a Celery worker is
SIGKILLed with snapshot jobs running and queued.

    python bench/load_faults.py                          # full size: 50 annotators, 1000 items × overlap 3
    python bench/load_faults.py --items 200 --overlap 2  # the size tests/hardening/test_load_faults.py runs

Clients retry connection errors, timeouts, 5xx and 429 with the same Idempotency-Key. At the end it checks:
every submit acknowledged to a client is in the database exactly once and nothing else is; no item beyond its
overlap; every task done; no 5xx outside the fault windows; every snapshot job finished, once. It prints the
figures (throughput, latency percentiles, errors by kind) and exits 1 when a check fails.
"""
import argparse
import json
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import requests

from _harness import GunicornServer, fresh_database, machine_description, percentile, setup_django
from annotation_api import RATINGS, check_invariants, seed

REQUEST_TIMEOUT_S = 15
MAX_ATTEMPTS = 60  # about two minutes of back-off: longer than any restart here
WINDOW_GRACE_S = 2.0  # requests already in flight when a window closes may still answer from it
# Redis hands a dead worker's unacknowledged job to another worker once it is this old; a worker checks
# when it starts (and then only every ~100 s), so the replacement starts after it has passed. Production
# keeps it above the longest job (13 h by default).
VISIBILITY_TIMEOUT_S = 5
RETRIED = {429}


@dataclass
class Ledger:
    """What the clients saw, recorded from many threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acknowledged: list = field(default_factory=list)  # annotation ids a client got a 2xx for
    replays: int = 0  # submits answered 200: a retry found the first attempt's annotation
    latencies: list = field(default_factory=list)  # (endpoint, started_at, seconds) of answered requests
    errors: Counter = field(default_factory=Counter)
    server_errors: list = field(default_factory=list)  # (started_at, ended_at, endpoint, status)
    windows: list = field(default_factory=list)  # (name, start, end) of each fault
    gave_up: int = 0
    crashed: int = 0

    def note(self, **kwargs):
        with self.lock:
            for key, value in kwargs.items():
                target = getattr(self, key)
                if isinstance(target, list):
                    target.append(value)
                elif isinstance(target, Counter):
                    target[value] += 1
                else:
                    setattr(self, key, target + value)


def call(session, ledger, endpoint, method, url, **kwargs):
    """One request, retried on what a restart causes; the answer, or None after MAX_ATTEMPTS."""
    delay = 0.1
    for _ in range(MAX_ATTEMPTS):
        started, clock = time.time(), time.perf_counter()
        try:
            response = session.request(method, url, timeout=REQUEST_TIMEOUT_S, **kwargs)
        except requests.Timeout:
            ledger.note(errors=f"{endpoint} timeout")
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
            # A restart can cut the connection before the request or in the middle of the answer's body.
            ledger.note(errors=f"{endpoint} connection")
        else:
            if response.status_code >= 500:
                ledger.note(errors=f"{endpoint} {response.status_code}",
                            server_errors=(started, time.time(), endpoint, response.status_code))
            elif response.status_code in RETRIED:
                ledger.note(errors=f"{endpoint} {response.status_code}")
            else:
                ledger.note(latencies=(endpoint, started, time.perf_counter() - clock))
                return response
        time.sleep(delay)
        delay = min(delay * 2, 2.0)
    ledger.note(gave_up=1)
    return None


def annotator(base, campaign_id, token, ledger):
    try:
        work(base, campaign_id, token, ledger)
    except Exception as exc:  # a client bug must show in the report, not vanish with its thread
        ledger.note(errors=f"client crashed: {type(exc).__name__}: {exc}"[:200], crashed=1)


def work(base, campaign_id, token, ledger):
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    while True:
        lease = call(session, ledger, "next-task", "POST", f"{base}/api/campaigns/{campaign_id}/next-task/")
        if lease is None or lease.status_code == 204:
            return
        if lease.status_code != 200:
            ledger.note(errors=f"next-task {lease.status_code}")
            return
        key = str(uuid.uuid4())  # one key per submission, reused by every retry
        done = call(session, ledger, "submit", "POST", f"{base}/api/assignments/{lease.json()['id']}/submit/",
                    json={"ratings": RATINGS, "time_spent_ms": 1000}, headers={"Idempotency-Key": key})
        if done is None:
            return
        if done.status_code in (200, 201):
            ledger.note(acknowledged=done.json()["id"], replays=int(done.status_code == 200))
        else:
            ledger.note(errors=f"submit {done.status_code} {done.text[:80]}")


def wait_for(condition, timeout, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


class Faults:
    """The fault schedule, driven by progress (acknowledged submits), so it lands mid-run at any speed."""

    def __init__(self, server, ledger, total, campaign, admin, n_jobs):
        self.server, self.ledger, self.total = server, ledger, total
        self.campaign, self.admin, self.n_jobs = campaign, admin, n_jobs
        self.report = {"late": []}

    def _at(self, fraction, name):
        wait_for(lambda: len(self.ledger.acknowledged) >= fraction * self.total, timeout=600)
        if len(self.ledger.acknowledged) >= self.total:
            self.report["late"].append(name)  # the work was over: this fault proves nothing

    def _window(self, name, action):
        start = time.time()
        action()
        end = time.time()
        self.ledger.note(windows=(name, start, end))
        self.report[name] = round(end - start, 2)

    def reload(self):
        self._at(0.15, "reload")
        old = self.server.worker_pids()

        def action():
            self.server.reload()
            # The window lasts until the old workers have handed over and left.
            wait_for(lambda: not any(os.path.exists(f"/proc/{pid}") for pid in old), timeout=60, step=0.1)
            self.server.wait_until_answering()

        self._window("reload_sighup_s", action)

    def kill_celery_worker(self, first_worker, start_worker):
        from alignment.models import Job
        from annotation.snapshots.services import snapshot_request

        self._at(0.3, "celery kill")
        jobs = [snapshot_request(params={"campaign_ids": [self.campaign.pk], "seed": i}, user=self.admin)[0].job_id
                for i in range(self.n_jobs)]
        running = wait_for(lambda: Job.objects.filter(pk__in=jobs, status=Job.Status.RUNNING).exists(), timeout=60)
        caught = list(Job.objects.filter(pk__in=jobs, status=Job.Status.RUNNING).values_list("pk", flat=True))
        first_worker.send_signal(signal.SIGKILL)
        first_worker.wait()
        states = Counter(Job.objects.filter(pk__in=jobs).values_list("status", flat=True))
        self.report["celery"] = {"jobs": jobs, "running_at_kill": caught, "caught_running": running,
                                 "states_at_kill": dict(states), "killed_at": time.time()}

        def replace():
            time.sleep(VISIBILITY_TIMEOUT_S)
            self.replacement = start_worker(env={"LIFT_BROKER_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT_S)})

        self.replacing = threading.Thread(target=replace)
        self.replacing.start()

    def kill_web(self):
        self._at(0.5, "web kill")
        self._window("kill_restart_s", self.server.kill_and_restart)


def outside_windows(ledger):
    windows = [(start, end + WINDOW_GRACE_S) for _, start, end in ledger.windows]
    return [e for e in ledger.server_errors if not any(e[0] <= w_end and e[1] >= w_start for w_start, w_end in windows)]


def jobs_outcome(report):
    from alignment.models import Job
    from annotation.models import Snapshot

    ids = report["celery"]["jobs"]
    wait_for(lambda: Job.objects.filter(pk__in=ids).exclude(status__in=Job.FINISHED).count() == 0,
             timeout=VISIBILITY_TIMEOUT_S + 240, step=0.5)
    jobs = {job.pk: job for job in Job.objects.filter(pk__in=ids)}
    snapshots = Counter(Snapshot.objects.filter(job_id__in=ids).values_list("job_id", flat=True))
    ready = Counter(Snapshot.objects.filter(job_id__in=ids, status="ready").values_list("job_id", flat=True))
    killed = report["celery"]["running_at_kill"]
    finished = [j.finished_at.timestamp() for pk, j in jobs.items() if pk in killed and j.finished_at]
    return {
        "statuses": dict(Counter(job.status for job in jobs.values())),
        "attempts": {pk: job.attempts for pk, job in jobs.items()},
        "snapshots_per_job": sorted(set(snapshots[pk] for pk in ids)),
        "ready": sum(1 for pk in ids if ready[pk] == 1),
        "killed_job_recovered_after_s": round(max(finished) - report["celery"]["killed_at"], 1) if finished else None,
    }


def figures(ledger, elapsed):
    ms = lambda xs, q: round(1000 * percentile(xs, q), 1)  # noqa: E731
    out = {}
    for endpoint in ("next-task", "submit"):
        times = [s for e, _, s in ledger.latencies if e == endpoint]
        out[endpoint] = {"n": len(times), "p50_ms": ms(times, 50), "p95_ms": ms(times, 95), "p99_ms": ms(times, 99)}
    out["round_trips_per_s"] = round(len(ledger.acknowledged) / elapsed, 1)
    return out


def run(args) -> dict:
    os.environ["REDIS_URL"] = args.redis_url
    media = tempfile.mkdtemp(prefix="lift-faults-")
    os.environ.update(MEDIA_ROOT=media, LIFT_JOBS_DIR=os.path.join(media, "jobs"))
    url = fresh_database(args.db)
    setup_django(url)
    import redis

    from tests.conftest import start_worker, stop_worker
    from tests.factories import UserFactory

    redis.Redis.from_url(args.redis_url).flushdb()  # this bench's own Redis database: no stale messages
    campaign, tokens = seed(args.annotators, args.items, args.overlap)
    admin = UserFactory(roles=["admin"])
    total = args.items * args.overlap
    ledger = Ledger()
    server = GunicornServer(url, workers=args.workers, threads=args.threads).start()
    first_worker = start_worker(queues="cpu")
    faults = Faults(server, ledger, total, campaign, admin, args.jobs)
    try:
        threads = [threading.Thread(target=annotator, args=(server.base, campaign.pk, t, ledger)) for t in tokens]
        started = time.time()
        [t.start() for t in threads]
        # The web faults one after the other, the worker's in parallel, each at its share of the work.
        web = threading.Thread(target=lambda: (faults.reload(), faults.kill_web()))
        web.start()
        faults.kill_celery_worker(first_worker, start_worker)
        web.join()
        [t.join() for t in threads]
        elapsed = time.time() - started
        faults.replacing.join()
        jobs = jobs_outcome(faults.report)
    finally:
        server.stop()
        for worker in (first_worker, getattr(faults, "replacement", None)):
            if worker is not None and worker.poll() is None:
                stop_worker(worker)
        shutil.rmtree(media, ignore_errors=True)
    invariants = check_invariants(campaign, ledger.acknowledged)
    stray = outside_windows(ledger)
    checks = {
        "every acknowledged submit in the database exactly once": invariants["lost"] == 0
        and invariants["duplicate_pairs"] == 0 and len(set(ledger.acknowledged)) == len(ledger.acknowledged),
        "no annotation that no client was told about": invariants["unacknowledged_rows"] == 0,
        "no item beyond its overlap": invariants["items_beyond_overlap"] == 0,
        "every task done": invariants["rows"] == total,
        "no 5xx outside the fault windows": not stray,
        "no client gave up or crashed": ledger.gave_up == 0 and ledger.crashed == 0,
        "every fault landed mid-run": not faults.report["late"],
        "the killed worker's job and the queued ones finished, one snapshot each": jobs["statuses"] == {"succeeded": args.jobs}
        and jobs["snapshots_per_job"] == [1] and jobs["ready"] == args.jobs,
    }
    return {
        "machine": machine_description(),
        "load_average": os.getloadavg(),
        "size": {"annotators": args.annotators, "items": args.items, "overlap": args.overlap, "tasks": total,
                 "gunicorn": f"{args.workers}x{args.threads} gthread", "snapshot_jobs": args.jobs},
        "elapsed_s": round(elapsed, 1),
        "figures": figures(ledger, elapsed),
        "errors_by_kind": dict(sorted(ledger.errors.items())),
        "server_errors": len(ledger.server_errors),
        "server_errors_outside_windows": len(stray),
        "replayed_submits": ledger.replays,
        "faults": {k: v for k, v in faults.report.items() if k != "celery"},
        "celery": {**{k: v for k, v in faults.report["celery"].items() if k != "killed_at"}, **jobs},
        "invariants": invariants,
        "checks": checks,
        "ok": all(checks.values()),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--overlap", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=4, help="snapshot jobs queued when the Celery worker is killed")
    parser.add_argument("--db", default="lift_bench_faults", help="dropped and re-created")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
                        help="a Redis database of its own: it is flushed")
    parser.add_argument("--json", help="also write the report here")
    args = parser.parse_args()
    report = run(args)
    text = json.dumps(report, indent=2, default=str)
    print(text)
    if args.json:
        with open(args.json, "w") as handle:
            handle.write(text)
    for name, passed in report["checks"].items():
        print(("PASS " if passed else "FAIL ") + name)
    raise SystemExit(0 if report["ok"] else 1)
