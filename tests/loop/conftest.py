"""Retrain-loop fixtures: an active synthetic-world generator, world prompts, and rated campaigns.

The loops in these tests run the stages whose job kinds need no trained model (snapshot, generate), so
the chain's mechanics are tested in seconds; the full loop on the tiny models has its own test."""
import time

import pytest

from tests.generation.conftest import SYNTHETIC_CONFIG, world_prompts  # noqa: F401 (a fixture)

MECHANICS = ["snapshot", "generate_candidates", "generate_next_round"]


@pytest.fixture
def active_generator(db):
    from alignment.services.registry import version_promote, version_register

    version = version_register(kind="generator", name="synthetic world", base="synthetic://world",
                               config=SYNTHETIC_CONFIG)
    return version_promote(version=version)


def loop_params(prompts, *, next_round_campaign=None, candidate_seeds=(0, 1), stages=MECHANICS) -> dict:
    return {"stages": list(stages), "next_round_campaign": next_round_campaign,
            "candidates": {"prompt_ids": [p.pk for p in prompts[:2]], "seeds": list(candidate_seeds)},
            "next_round": {"prompt_ids": [p.pk for p in prompts[2:4]], "seeds": [0]}}


def rate(campaign_items, users, review_state="pending"):
    from tests.quality.util import annotate

    return [annotate(item, user, review_state=review_state) for item in campaign_items for user in users]


def wait_for(predicate, timeout=120, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def wait_job(job_id, statuses=("succeeded", "failed", "cancelled"), timeout=180):
    from alignment.models import Job

    return wait_for(lambda: (job := Job.objects.get(pk=job_id)).status in statuses and job, timeout,
                    what=f"job {job_id} to reach {statuses}")


def drive(loop_id, *, limit=40):
    """What the workers do, in this process: advance the loop, run its queued stage, repeat."""
    from alignment.models import Job
    from alignment.services.jobs import job_run
    from alignment.loop.run import loop_advance

    for _ in range(limit):
        loop_advance(loop_id=loop_id)
        loop = Job.objects.get(pk=loop_id)
        if loop.status in Job.FINISHED:
            return loop
        child = loop.stages.filter(status=Job.Status.QUEUED).order_by("pk").first()
        assert child is not None, loop.metrics
        job_run(job_id=child.pk)
    raise AssertionError("the loop did not end")
