"""Annotation API under load: N synthetic annotators loop next-task → submit against gunicorn + PostgreSQL.

    python bench/annotation_api.py                 # 32 annotators, throughput and latency, invariants
    python bench/annotation_api.py --scaling       # next-task and submit p50 with 10k and with 1M annotations

Prints figures and checks the invariants (rows = acknowledged submits, no duplicates, no item beyond k).
"""
import argparse
import os
import statistics
import threading
import time
import uuid
from collections import Counter

import requests

from _harness import fresh_database, gunicorn, machine_description, percentile, setup_django

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


def annotator_loop(base, campaign_id, token, deadline, out):
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    while time.time() < deadline:
        t0 = time.perf_counter()
        lease = session.post(f"{base}/api/campaigns/{campaign_id}/next-task/")
        out["next"].append(time.perf_counter() - t0)
        if lease.status_code == 204:
            return
        if lease.status_code != 200:
            out["errors"][f"next-task {lease.status_code}"] += 1
            continue
        assignment = lease.json()["id"]
        t0 = time.perf_counter()
        done = session.post(f"{base}/api/assignments/{assignment}/submit/",
                            json={"ratings": RATINGS, "time_spent_ms": 1000},
                            headers={"Idempotency-Key": str(uuid.uuid4())})
        out["submit"].append(time.perf_counter() - t0)
        if done.status_code in (200, 201):
            out["acknowledged"].append(done.json()["id"])
        else:
            out["errors"][f"submit {done.status_code}"] += 1


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


def throughput(args):
    url = fresh_database("lift_bench")
    setup_django(url)
    campaign, tokens = seed(args.annotators, args.items, args.overlap)
    out = {"next": [], "submit": [], "acknowledged": [], "errors": Counter()}
    with gunicorn(url, workers=args.workers, threads=args.threads) as (base, _):
        deadline = time.time() + args.seconds
        threads = [threading.Thread(target=annotator_loop, args=(base, campaign.pk, t, deadline, out)) for t in tokens]
        started = time.time()
        [t.start() for t in threads]
        [t.join() for t in threads]
        elapsed = time.time() - started
    inv = check_invariants(campaign, out["acknowledged"])
    ms = lambda xs, q: 1000 * percentile(xs, q)  # noqa: E731
    print(f"machine: {machine_description()}")
    print(f"{args.annotators} annotators, {elapsed:.1f} s, gunicorn {args.workers}x{args.threads} gthread")
    print(f"round-trips/s: {len(out['acknowledged']) / elapsed:.1f}")
    for name in ("next", "submit"):
        print(f"{name}: p50 {ms(out[name], 50):.1f} ms  p95 {ms(out[name], 95):.1f} ms  p99 {ms(out[name], 99):.1f} ms")
    print(f"errors: {dict(out['errors'])}")
    print(f"invariants: {inv}")
    ok = inv["lost"] == 0 and inv["duplicate_pairs"] == 0 and inv["items_beyond_overlap"] == 0 and inv["rows"] == inv["acknowledged"]
    print("INVARIANTS OK" if ok else "INVARIANTS BROKEN")
    return 0 if ok else 1


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

    url = fresh_database("lift_bench")
    setup_django(url)
    from annotation.models import Campaign

    figures = {}
    for size in (10_000, args.large):
        started = time.time()
        campaign = Campaign.objects.get(pk=populate("lift_bench", size))
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
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--scaling", action="store_true")
    parser.add_argument("--large", type=int, default=1_000_000, help="annotations in the large case of --scaling")
    parser.add_argument("--rounds", type=int, default=200, help="next-task + submit round trips per size (--scaling)")
    args = parser.parse_args()
    raise SystemExit(scaling(args) if args.scaling else throughput(args))
