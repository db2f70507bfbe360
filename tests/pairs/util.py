"""Pairwise campaigns for tests: pairs of videos of one prompt, answers given as the annotator saw them."""
import uuid

from annotation.models import Campaign
from annotation.services.campaigns import campaign_add_pairs, campaign_create
from tests.factories import PromptFactory, VideoFactory

DIMS = ("semantic", "motion", "fidelity")


def pair_campaign(*, pairs: int = 3, overlap: int = 2, gold: dict | None = None, **settings) -> tuple[Campaign, list]:
    """A pairwise campaign with `pairs` items, each two videos (seeds 0 and 1) of a prompt of its own."""
    campaign = campaign_create(name=f"pairs {uuid.uuid4().hex[:8]}", kind="pairwise", overlap=overlap, **settings)
    ids = []
    for _ in range(pairs):
        prompt = PromptFactory()
        ids.append((VideoFactory(prompt=prompt, seed=0).pk, VideoFactory(prompt=prompt, seed=1).pk))
    gold_answers = {ids[0]: gold} if gold else None
    return campaign, campaign_add_pairs(campaign=campaign, pairs=ids, gold_answers=gold_answers)


def choices(side: str = "left", **per_dim) -> dict:
    """The same side for every dimension unless named: {dimension: {"choice", "rationale"}}."""
    return {dim: {"choice": per_dim.get(dim, side), "rationale": f"{per_dim.get(dim, side)} looks better here."}
            for dim in DIMS}


def submit_choices(client, assignment_id, body_choices=None, key=None, time_spent_ms=1000, **extra):
    return client.post(
        f"/api/assignments/{assignment_id}/submit/",
        {"choices": body_choices or choices(), "time_spent_ms": time_spent_ms, **extra},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()),
    )


def annotate_pair(item, user, stored: dict, *, shown_order: str = "AB", time_spent_ms: int = 20_000,
                  rationale: str = "One of the two is clearly better here."):
    """An annotation of a pair straight into the database: `stored` is {dimension: A|B|tie} (the submit path
    has its own tests)."""
    from django.utils import timezone

    from annotation.models import Annotation, Assignment

    now = timezone.now()
    assignment = Assignment.objects.create(campaign=item.campaign, item=item, annotator=user, leased_at=now,
                                           expires_at=now, state=Assignment.State.SUBMITTED, shown_order=shown_order)
    return Annotation.objects.create(
        assignment=assignment, campaign=item.campaign, item=item, annotator=user,
        ratings={dim: {"choice": stored[dim], "rationale": f"{dim}: {rationale}" if rationale else ""} for dim in DIMS},
        time_spent_ms=time_spent_ms, idempotency_key=str(uuid.uuid4()), request_hash="x" * 64)


def same(choice: str) -> dict:
    return {dim: choice for dim in DIMS}
