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


def world_pair_snapshot(media_root, out_dir, votes: list[dict], splits: list[str]):
    """A ready snapshot of a pairwise campaign over playable world clips: pair i is a clean and a damaged render
    of one world prompt, its prompt chosen to fall in `splits[i]`, and three annotators of whom two choose
    `votes[i]` ({dimension: A|B|tie}) and the third the other side. Returns (snapshot, items)."""
    import hashlib

    import numpy as np

    from alignment.engine.synthetic import SyntheticGenerator, render, sample_prompt
    from alignment.engine.video_io import encode_video
    from annotation.models import Video
    from annotation.services.prompts import prompt_create
    from annotation.snapshots.hra_format import prompt_key, split_for
    from annotation.snapshots.services import snapshot_build, snapshot_create
    from tests.factories import UserFactory, add_member

    rng = np.random.default_rng(5)
    campaign = campaign_create(name=f"which is better {uuid.uuid4().hex[:6]}", kind="pairwise", overlap=3)
    pairs = []
    for index, split in enumerate(splits):
        text = ""
        while not text or split_for(prompt_key(text, ""), 0) != split:
            text = f"{sample_prompt(rng).to_text()} (pair {index}.{rng.integers(1 << 30)})"
        prompt = prompt_create(text=text, source="synthetic")
        ids = []
        for clean in (True, False):
            truth = SyntheticGenerator(p_clean=1.0 if clean else 0.0).truth(text.split(" (")[0], index)
            name = f"videos/compared-{prompt.pk}-{int(clean)}.mp4"
            path = media_root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            info = encode_video(render(truth.spec, truth.defects, frames=12, size=(32, 32), seed=index), path, fps=8)
            ids.append(Video.objects.create(file=name, prompt=prompt, source=Video.Source.UPLOADED, frames=info.frames,
                                            width=info.width, height=info.height, fps=8,
                                            sha256=hashlib.sha256(path.read_bytes()).hexdigest()).pk)
        pairs.append(tuple(ids))
    items = campaign_add_pairs(campaign=campaign, pairs=pairs)
    users = [add_member(campaign, UserFactory(roles=["annotator"])) for _ in range(3)]
    for item, agreed in zip(items, votes):
        dissent = {dim: {"A": "B", "B": "A", "tie": "A"}[choice] for dim, choice in agreed.items()}
        for j, user in enumerate(users):
            annotate_pair(item, user, dissent if j == 2 else agreed, shown_order="AB" if j % 2 else "BA")
    snapshot = snapshot_build(snapshot=snapshot_create(params={"filters": {"campaign_ids": [campaign.pk]}}),
                              out_dir=out_dir)
    return snapshot, items
