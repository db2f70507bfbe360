"""POST /api/prompts/combine/ at its largest count (10,000) against gunicorn + PostgreSQL.

    .venv/bin/python bench/prompt_combine_bench.py [--rounds 3]

Creates a database of its own (`lift_bench_combine`, dropped and re-created), a bank large enough for the
draw (40 subjects, 30 actions, 30 places besides LiFT's defaults), then times per round a new draw (a fresh
seed: 10,000 prompts written) and the same draw again (all found and returned). Target: under 1 s each.
"""
import argparse
import os
import statistics
import time

import requests

from _harness import fresh_database, gunicorn, machine_description, setup_django

COUNT = 10_000


def seed_bank() -> str:
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from annotation.services.prompts import prompt_category_create
    from tests.factories import UserFactory

    for role, n in (("subject", 40), ("action", 30), ("place", 30)):
        prompt_category_create(name=f"bench {role}", role=role, items=[f"{role} item {i}" for i in range(n)])
    Group.objects.get_or_create(name="admin")
    return Token.objects.create(user=UserFactory(roles=["admin"])).key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    database = fresh_database("lift_bench_combine")
    setup_django(database)
    token = seed_bank()
    new, again = [], []
    with gunicorn(database, workers=1, threads=1) as (base, _):
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        for seed in range(1, args.rounds + 1):
            for timings in (new, again):
                started = time.perf_counter()
                answer = session.post(f"{base}/api/prompts/combine/", json={"count": COUNT, "seed": seed}, timeout=120)
                timings.append(time.perf_counter() - started)
                assert answer.status_code == 200 and len(answer.json()) == COUNT, answer.text[:300]
    print(f"machine: {machine_description()}; load average {os.getloadavg()}")
    print(f"POST /api/prompts/combine/ count={COUNT}: new draw median {statistics.median(new):.2f} s "
          f"(max {max(new):.2f}), same draw again median {statistics.median(again):.2f} s (max {max(again):.2f}); "
          f"{args.rounds} rounds")


if __name__ == "__main__":
    main()
