import random
import threading
import uuid
from collections import Counter

import requests
from django.core.management.base import BaseCommand, CommandError

SPAM_REASON = "ok"


class NoiseStreams:
    """Each answer's random draws come from a stream of the videos it answers, not of the annotator who leased
    them, so that which thread happens to lease which video does not change the labels: the n-th answer to a
    video (or pair) takes that video's n-th stream. Several annotators are then as reproducible as one."""

    def __init__(self, seed: int):
        self.seed = seed
        self._answered = Counter()
        self._lock = threading.Lock()

    def rng(self, *videos) -> random.Random:
        key = ":".join(sorted(v.sha256 or f"pk{v.pk}" for v in videos))  # the content: stable across databases
        with self._lock:
            nth = self._answered[key]
            self._answered[key] += 1
        return random.Random(f"{self.seed}:{key}:{nth}")


class Command(BaseCommand):
    help = ("Synthetic annotators that drive the real HTTP API (next-task → submit), answering from the "
            "synthetic world's truth with noise, bias or as spammers: the renderer's record of a world video, "
            "the pixel judge's reading of any other video of the world (a generator's). In a pairwise campaign "
            "they compare the two videos' truths per dimension (the better rating wins, equal ones are a tie).")

    def add_arguments(self, parser):
        parser.add_argument("--campaign", type=int, required=True)
        parser.add_argument("--annotators", type=int, default=3)
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--noise", type=float, default=0.1, help="chance of answering a random rating")
        parser.add_argument("--bias", choices=["none", "lenient", "harsh"], default="none")
        parser.add_argument("--spammers", type=int, default=0, help="how many of them answer at random")
        parser.add_argument("--left-leaning", type=int, default=0,
                            help="pairwise campaigns: how many of them (after the spammers) always prefer the left video")
        parser.add_argument("--max-tasks", type=int, default=1000, help="per annotator")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, campaign, annotators, base_url, noise, bias, spammers, max_tasks, seed, left_leaning=0,
               **options):
        from django.contrib.auth import get_user_model
        from rest_framework.authtoken.models import Token

        from annotation.models import Campaign
        from annotation.roles import role_grant
        from annotation.services.campaigns import campaign_member_add

        target = Campaign.objects.filter(pk=campaign).first()
        if target is None:
            raise CommandError(f"No campaign {campaign}.")
        tokens = []
        for i in range(annotators):
            user, _ = get_user_model().objects.get_or_create(username=f"sim-{campaign}-{i}")
            role_grant(user=user, role="annotator")
            campaign_member_add(campaign=target, user=user)
            tokens.append(Token.objects.get_or_create(user=user)[0].key)
        counts = [0] * annotators
        streams = NoiseStreams(seed)
        threads = [threading.Thread(target=self._work, args=(i, tokens[i], base_url, campaign, noise, bias,
                                                             i < spammers, spammers <= i < spammers + left_leaning,
                                                             max_tasks, seed, streams, counts))
                   for i in range(annotators)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        self.stdout.write(f"submitted {sum(counts)} annotations ({counts})")

    def _work(self, index, token, base_url, campaign, noise, bias, spammer, leans_left, max_tasks, seed, streams,
              counts):
        from django.db import connection

        from annotation.models import Video

        rng = random.Random(seed * 1000 + index)  # only for the time spent: the answers draw from `streams`
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        try:
            for _ in range(max_tasks):
                lease = session.post(f"{base_url}/api/campaigns/{campaign}/next-task/", timeout=30)
                if lease.status_code == 204:
                    return
                lease.raise_for_status()
                task = lease.json()
                if task.get("pair"):
                    left, right = (Video.objects.get(pk=task["pair"][side]["id"]) for side in ("left", "right"))
                    body = {"choices": self._compare(left, right, streams.rng(left, right), noise, spammer,
                                                     leans_left)}
                else:
                    video = Video.objects.get(pk=task["video"]["id"])
                    body = {"ratings": self._answer(video, streams.rng(video), noise, bias, spammer)}
                key = str(uuid.uuid4())
                for _attempt in range(5):  # retried with the same key: lands exactly once
                    try:
                        done = session.post(f"{base_url}/api/assignments/{task['id']}/submit/", timeout=30,
                                            json={**body, "time_spent_ms": rng.randint(4000, 40000)},
                                            headers={"Idempotency-Key": key})
                        if done.status_code < 500:
                            break
                    except requests.RequestException:
                        continue
                counts[index] += done.status_code in (200, 201)
        finally:
            connection.close()

    @staticmethod
    def _answer(video, rng, noise, bias, spammer):
        from annotation.schema import RATING_LEVELS

        from alignment.services.judging import video_truth

        truth = video_truth(video) or {}
        ratings = {}
        for dim in ("semantic", "motion", "fidelity"):
            if spammer:
                ratings[dim] = {"rating": rng.choice(RATING_LEVELS), "rationale": SPAM_REASON}
                continue
            true = truth.get(dim, {"rating": "Normal", "reason": "Hard to tell."})
            rating, reason = true["rating"], true["reason"]
            if rng.random() < noise:
                rating = rng.choice(RATING_LEVELS)
            if bias == "lenient" and rating == "Bad" and rng.random() < 0.3:
                rating = "Normal"
            if bias == "harsh" and rating == "Good" and rng.random() < 0.3:
                rating = "Normal"
            ratings[dim] = {"rating": rating, "rationale": reason}
        return ratings

    @staticmethod
    def _compare(left_video, right_video, rng, noise, spammer, leans_left):
        """Per dimension the side whose truth is rated better (Good over Normal over Bad), or a tie."""
        from annotation.schema import RATING_LEVELS, SHOWN_CHOICES

        from alignment.services.judging import video_truth

        left, right = (video_truth(video) or {} for video in (left_video, right_video))
        unknown = {"rating": "Normal", "reason": "Hard to tell."}
        choices = {}
        for dim in ("semantic", "motion", "fidelity"):
            if spammer:
                choices[dim] = {"choice": rng.choice(SHOWN_CHOICES), "rationale": SPAM_REASON}
                continue
            a, b = left.get(dim, unknown), right.get(dim, unknown)
            rank_a, rank_b = RATING_LEVELS.index(a["rating"]), RATING_LEVELS.index(b["rating"])
            choice = "left" if rank_a < rank_b else "right" if rank_b < rank_a else "tie"
            if rng.random() < noise:
                choice = rng.choice(SHOWN_CHOICES)
            if leans_left:
                choice = "left"
            choices[dim] = {"choice": choice, "rationale": f"Left: {a['reason']} Right: {b['reason']}"}
        return choices
