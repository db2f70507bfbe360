"""Annotation API under load: N synthetic annotators loop next-task → submit against gunicorn + PostgreSQL.

    python bench/annotation_api.py                 # 32 annotators, throughput and latency, invariants
    python bench/annotation_api.py --combined      # the same with one call per task: submit?next=1
    python bench/annotation_api.py --both --json bench/results/annotation_api.json   # both, one after the other
    python bench/annotation_api.py --think-ms 2000 # annotators who pause between tasks
    python bench/annotation_api.py --combined --rate 128  # an open load: 128 round trips/s offered on a schedule
    python bench/annotation_api.py --scaling       # next-task and submit p50 with 10k and with 1M annotations

Prints figures and checks the invariants (rows = acknowledged submits, no duplicates, no item beyond k).
"""
import argparse
import http.client
import json
import os
import random
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from urllib.parse import urlsplit

import requests

from _harness import cpu_seconds_by_part, fresh_database, gunicorn, stolen_seconds, machine_description, percentile, setup_django

_json_dumps = json.dumps

RATINGS = {
    "semantic": {"rating": "Good", "rationale": "Matches the prompt."},
    "motion": {"rating": "Normal", "rationale": "Slight jitter."},
    "fidelity": {"rating": "Bad", "rationale": "Blocky artifacts."},
}


def seed(n_annotators: int, n_items: int, overlap: int):
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from annotation.models import Campaign, CampaignItem, CampaignMembership, Video

    campaign = Campaign.objects.create(name=f"bench {uuid.uuid4().hex[:6]}", overlap=overlap, lease_seconds=600)
    batch = 20_000
    for start in range(0, n_items, batch):
        count = min(batch, n_items - start)
        videos = Video.objects.bulk_create(Video(file=f"videos/bench-{start + i}.mp4") for i in range(count))
        CampaignItem.objects.bulk_create(CampaignItem(campaign=campaign, video=v) for v in videos)
    User = get_user_model()
    tokens = []
    for i in range(n_annotators):
        user = User.objects.create(username=f"bench-{campaign.pk}-{i}")
        CampaignMembership.objects.create(campaign=campaign, user=user)
        tokens.append(Token.objects.create(user=user).key)
    return campaign, tokens


class _Answer:
    def __init__(self, status_code: int, body: bytes):
        self.status_code, self._body = status_code, body

    def json(self):
        return json.loads(self._body)


class LeanSession:
    """One annotator's keep-alive connection through the standard library: the same requests as a
    requests.Session sends, at about half its client CPU, which here competes with the server for the same
    two cores (--client requests measures with requests)."""

    def __init__(self, token: str):
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.connection = None

    def post(self, url: str, json=None, headers=None) -> _Answer:
        parts = urlsplit(url)
        body = b"" if json is None else _json_dumps(json).encode()
        for attempt in (1, 2):  # once more on a connection the server closed while idle
            if self.connection is None:
                self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            try:
                self.connection.request("POST", f"{parts.path}?{parts.query}" if parts.query else parts.path,
                                        body=body, headers={**self.headers, **(headers or {})})
                answer = self.connection.getresponse()
                return _Answer(answer.status, answer.read())
            except (http.client.RemoteDisconnected, ConnectionError):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise


def _session(token: str, client: str = "lean"):
    if client == "lean":
        return LeanSession(token)
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    return session


def _timed(out: list, call, since: float | None = None):
    """The call's latency, from `since` when given: an open load's scheduled send time, so a request that
    had to wait for the one before it counts that wait (no coordinated omission)."""
    t0 = time.perf_counter() if since is None else since
    response = call()
    end = time.perf_counter()
    out.append((end, end - t0))
    return response


def _submit(session, base, assignment_id: int, out: list, query: str = "", since: float | None = None):
    return _timed(out, lambda: session.post(f"{base}/api/assignments/{assignment_id}/submit/{query}",
                                            json={"ratings": RATINGS, "time_spent_ms": 1000},
                                            headers={"Idempotency-Key": str(uuid.uuid4())}), since)


class _NothingLeft(Exception):
    """next-task answered 204: the campaign is done for this annotator."""


def _next_lease(session, base, campaign_id, out) -> dict | None:
    """next-task's lease, or None after an error (counted); raises _NothingLeft when nothing is left."""
    answer = _timed(out["next"], lambda: session.post(f"{base}/api/campaigns/{campaign_id}/next-task/"))
    if answer.status_code == 204:
        raise _NothingLeft
    if answer.status_code != 200:
        out["errors"][f"next-task {answer.status_code}"] += 1
        return None
    return answer.json()


def annotator_loop(base, campaign_id, token, deadline, out, think_s=0.0, client="lean"):
    """Two calls per task: next-task, then submit."""
    session = _session(token, client)
    while time.time() < deadline:
        try:
            lease = _next_lease(session, base, campaign_id, out)
        except _NothingLeft:
            return
        if lease is None:
            continue
        time.sleep(think_s)
        done = _submit(session, base, lease["id"], out["submit"])
        if done.status_code in (200, 201):
            out["acknowledged"].append((time.perf_counter(), done.json()["id"]))
        else:
            out["errors"][f"submit {done.status_code}"] += 1


def combined_loop(base, campaign_id, token, deadline, out, think_s=0.0, client="lean", interval_s=None):
    """One call per task: submit?next=1 answers with the next lease (next-task only to start). With
    `interval_s` (an open load) the submits are scheduled every interval_s from a random start, whatever
    the answers' latency, and each is timed from its scheduled moment."""
    session = _session(token, client)
    lease = None
    scheduled = time.perf_counter() + random.uniform(0, interval_s) if interval_s else None
    while time.time() < deadline:
        if lease is None:
            try:
                lease = _next_lease(session, base, campaign_id, out)
            except _NothingLeft:
                return
            if lease is None:
                continue
        if interval_s:
            time.sleep(max(0.0, scheduled - time.perf_counter()))
        else:
            time.sleep(think_s)
        done = _submit(session, base, lease["id"], out["submit_next"], query="?next=1", since=scheduled)
        if interval_s:
            scheduled += interval_s
        if done.status_code not in (200, 201):
            out["errors"][f"submit?next=1 {done.status_code}"] += 1
            lease = None
            continue
        body = done.json()
        out["acknowledged"].append((time.perf_counter(), body["annotation"]["id"]))
        if body["next_state"] == "nothing_left":
            return
        lease = body["next"]


def check_invariants(campaign, acknowledged):
    from annotation.models import Annotation

    rows = list(Annotation.objects.filter(campaign=campaign).values_list("id", "item_id", "annotator_id"))
    ids = {row[0] for row in rows}
    per_item = Counter(row[1] for row in rows)
    pairs = Counter((row[1], row[2]) for row in rows)
    return {
        "rows": len(rows),
        "acknowledged": len(acknowledged),
        "lost": len(set(acknowledged) - ids),
        "unacknowledged_rows": len(ids - set(acknowledged)),
        "duplicate_pairs": sum(1 for n in pairs.values() if n > 1),
        "items_beyond_overlap": sum(1 for n in per_item.values() if n > campaign.overlap),
    }


def throughput(args, combined: bool) -> dict:
    if "django.db" in sys.modules:  # a run before this one: let go of its database, which is dropped now
        from django.db import connections

        connections.close_all()
    url = fresh_database(args.db)
    setup_django(url)
    campaign, tokens = seed(args.annotators, args.items, args.overlap)
    out = {"next": [], "submit": [], "submit_next": [], "acknowledged": [], "errors": Counter()}
    loop = combined_loop if combined else annotator_loop
    if args.rate and not combined:
        raise SystemExit("--rate (an open load) is for the combined call: add --combined")
    with gunicorn(url, workers=args.workers, threads=args.threads) as (base, server):
        load_before = os.getloadavg()
        cpu_before, stolen_before = cpu_seconds_by_part(server.pid), stolen_seconds()
        deadline = time.time() + args.seconds
        interval = args.annotators / args.rate if args.rate else None  # each annotator's share of the offered rate
        threads = [threading.Thread(target=loop, args=(base, campaign.pk, t, deadline, out, args.think_ms / 1000,
                                                       args.client, *([interval] if interval else [])))
                   for t in tokens]
        started, started_clock = time.time(), time.perf_counter()
        [t.start() for t in threads]
        [t.join() for t in threads]
        elapsed = time.time() - started
        load_after = os.getloadavg()
        cpu_after, stolen = cpu_seconds_by_part(server.pid), stolen_seconds() - stolen_before
    inv = check_invariants(campaign, [annotation_id for _, annotation_id in out["acknowledged"]])
    # Figures from the steady state: the first --warmup seconds (all annotators' first next-task at once,
    # workers' first statements being prepared) are left out of rates and latencies, not of the invariants.
    steady_from, steady_s = started_clock + args.warmup, elapsed - args.warmup
    steady = {name: [latency for end, latency in out[name] if end >= steady_from] for name in ("next", "submit", "submit_next")}
    round_trips_per_s = sum(1 for end, _ in out["acknowledged"] if end >= steady_from) / steady_s
    ms = lambda xs, q: round(1000 * percentile(xs, q), 1)  # noqa: E731
    mode = "combined (submit?next=1)" if combined else "two calls (next-task, submit)"
    print(f"machine: {machine_description()}")
    print(f"{mode}: {args.annotators} annotators, think {args.think_ms} ms, offered {args.rate or 'as fast as answered'}/s, {elapsed:.1f} s, "
          f"gunicorn {args.workers}x{args.threads} gthread, {args.client} client; load average {load_before} before, {load_after} after")
    print(f"round-trips/s (after {args.warmup:g} s of warm-up): {round_trips_per_s:.1f}")
    latency = {}
    for name in ("next", "submit", "submit_next"):
        if steady[name]:
            latency[name] = {"calls": len(steady[name]), "p50_ms": ms(steady[name], 50),
                             "p95_ms": ms(steady[name], 95), "p99_ms": ms(steady[name], 99)}
            print(f"{name}: {latency[name]}")
    # Where the two cores went: CPU milliseconds per acknowledged round trip, by part.
    rounds = max(1, len(out["acknowledged"]))
    cpu_ms = {part: round(1000 * (cpu_after[part] - cpu_before[part]) / rounds, 2) for part in cpu_after}
    print(f"CPU ms per round trip: {cpu_ms} (of {round(2000 * elapsed / rounds, 1)} ms of two cores' time); "
          f"stolen by the hypervisor: {stolen:.1f} CPU s of {2 * elapsed:.0f}")
    print(f"errors: {dict(out['errors'])}")
    print(f"invariants: {inv}")
    ok = inv["lost"] == 0 and inv["duplicate_pairs"] == 0 and inv["items_beyond_overlap"] == 0 and inv["rows"] == inv["acknowledged"]
    print("INVARIANTS OK" if ok else "INVARIANTS BROKEN", flush=True)
    return {"mode": "combined" if combined else "two_calls", "annotators": args.annotators, "think_ms": args.think_ms, "offered_per_s": args.rate or None,
            "seconds": round(elapsed, 1), "items": args.items, "overlap": args.overlap,
            "gunicorn": f"{args.workers}x{args.threads} gthread", "client": args.client, "round_trips_per_s": round(round_trips_per_s, 1),
            "warmup_s": args.warmup,
            "latency": latency, "cpu_ms_per_round_trip": cpu_ms, "stolen_cpu_s": round(stolen, 2), "errors": dict(out["errors"]), "invariants": inv, "invariants_ok": ok,
            "loadavg_before": load_before, "loadavg_after": load_after}


def throughput_runs(args) -> int:
    modes = [False, True] if args.both else [args.combined]
    runs = [throughput(args, combined) for combined in modes]
    if args.json:
        record = {"measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine_description(),
                  "runs": runs}
        with open(args.json, "w") as fh:
            json.dump(record, fh, indent=2)
            fh.write("\n")
        print(f"wrote {args.json}")
    return 0 if all(run["invariants_ok"] for run in runs) else 1


def open_work(campaign, n_items: int) -> str:
    """Fresh open items in a campaign and a new member to work them; the member's token."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from annotation.models import CampaignItem, CampaignMembership, Video

    videos = Video.objects.bulk_create(Video(file=f"videos/open-{campaign.pk}-{i}.mp4") for i in range(n_items))
    CampaignItem.objects.bulk_create(CampaignItem(campaign=campaign, video=v) for v in videos)
    user = get_user_model().objects.create(username=f"scaling-{campaign.pk}")
    CampaignMembership.objects.create(campaign=campaign, user=user)
    return Token.objects.create(user=user).key


def round_trip_p50(url, campaign_id, token, rounds: int) -> tuple[float, float]:
    """Median next-task and submit latency (ms) of one annotator working a campaign, first 10 dropped."""
    with gunicorn(url, workers=2, threads=2) as (base, _):
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        next_times, submit_times = [], []
        for _ in range(rounds):
            t0 = time.perf_counter()
            lease = session.post(f"{base}/api/campaigns/{campaign_id}/next-task/").json()
            next_times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            session.post(f"{base}/api/assignments/{lease['id']}/submit/",
                         json={"ratings": RATINGS, "time_spent_ms": 5}, headers={"Idempotency-Key": str(uuid.uuid4())})
            submit_times.append(time.perf_counter() - t0)
    return statistics.median(next_times[10:]) * 1000, statistics.median(submit_times[10:]) * 1000


def scaling(args):
    """The same work (one annotator leasing and submitting on a campaign) with 10k and then ~1M annotations
    in that campaign and the database; the annotations are bulk-loaded as snapshot_bench does."""
    from snapshot_bench import populate

    url = fresh_database(args.db)
    setup_django(url)
    from annotation.models import Campaign

    figures = {}
    for size in (10_000, args.large):
        started, started_clock = time.time(), time.perf_counter()
        campaign = Campaign.objects.get(pk=populate(args.db, size))
        token = open_work(campaign, args.rounds + 50)
        print(f"loaded {size:,} annotations in {time.time() - started:.0f} s", flush=True)
        figures[size] = round_trip_p50(url, campaign.pk, token, args.rounds)
    (small_next, small_submit), (large_next, large_submit) = figures[10_000], figures[args.large]
    print(f"machine: {machine_description()}; load average {os.getloadavg()}")
    print(f"next-task p50: {small_next:.1f} ms at 10k annotations, {large_next:.1f} ms at {args.large:,}, "
          f"ratio {large_next / small_next:.2f}")
    print(f"submit p50: {small_submit:.1f} ms at 10k annotations, {large_submit:.1f} ms at {args.large:,}, "
          f"ratio {large_submit / small_submit:.2f}")
    return 0 if max(large_next / small_next, large_submit / small_submit) <= 1.5 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--annotators", type=int, default=32)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--overlap", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--combined", action="store_true", help="one call per task: submit?next=1")
    parser.add_argument("--both", action="store_true", help="two calls per task, then the combined call")
    parser.add_argument("--think-ms", type=float, default=0, help="an annotator's pause on each task")
    parser.add_argument("--warmup", type=float, default=5, help="seconds left out of rates and latencies")
    parser.add_argument("--rate", type=float, default=0,
                        help="an open load: round trips/s offered in all, on a fixed schedule (with --combined)")
    parser.add_argument("--client", choices=["lean", "requests"], default="lean",
                        help="the annotators' HTTP client: the standard library's (lean) or requests")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--db", default="lift_bench", help="the throw-away database (dropped and created afresh)")
    parser.add_argument("--scaling", action="store_true")
    parser.add_argument("--large", type=int, default=1_000_000, help="annotations in the large case of --scaling")
    parser.add_argument("--rounds", type=int, default=200, help="next-task + submit round trips per size (--scaling)")
    args = parser.parse_args()
    raise SystemExit(scaling(args) if args.scaling else throughput_runs(args))
