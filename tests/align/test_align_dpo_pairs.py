"""DPO on people's comparisons: a pairwise campaign's snapshot → each compared pair's consensus → an align job
with objective dpo and pairs "snapshot" trains on the preferred video against the other, and says so in its
lineage; pairs nobody preferred a side of are left out, and bad requests are refused before a job exists."""
import hashlib

import numpy as np
import pyarrow.parquet as pq
import pytest

from alignment.models import ModelVersion
from alignment.services.align_data import snapshot_preferences
from alignment.services.jobs import job_create, job_run
from annotation.models import Video
from annotation.services.campaigns import campaign_add_pairs, campaign_create
from annotation.snapshots.services import snapshot_build, snapshot_create
from lift.api_errors import ApplicationError
from tests.align.conftest import align_params
from tests.factories import UserFactory, add_member
from tests.pairs.util import annotate_pair

# Per pair, what the three annotators chose on (semantic, motion, fidelity); the third one dissents.
VOTES = [
    ({"semantic": "A", "motion": "A", "fidelity": "tie"}, "A"),   # A wins two dimensions
    ({"semantic": "B", "motion": "tie", "fidelity": "B"}, "B"),   # B wins two
    ({"semantic": "A", "motion": "B", "fidelity": "tie"}, None),  # one each: no preference, left out
    ({"semantic": "tie", "motion": "tie", "fidelity": "A"}, "A"),
    ({"semantic": "B", "motion": "B", "fidelity": "B"}, "B"),
    ({"semantic": "A", "motion": "A", "fidelity": "A"}, "A"),
]


def _clip(settings, prompt, index: int, clean: bool) -> Video:
    from alignment.engine.synthetic import SyntheticGenerator, render
    from alignment.engine.video_io import encode_video

    truth = SyntheticGenerator(p_clean=1.0 if clean else 0.0).truth(prompt.text.split(" (")[0], index)
    name = f"videos/compared-{index}-{int(clean)}.mp4"
    path = settings.MEDIA_ROOT / name
    path.parent.mkdir(parents=True, exist_ok=True)
    info = encode_video(render(truth.spec, truth.defects, frames=12, size=(32, 32), seed=index), path, fps=8)
    return Video.objects.create(file=name, prompt=prompt,
                                source=Video.Source.UPLOADED, frames=info.frames, width=info.width, height=info.height,
                                fps=8, sha256=hashlib.sha256(path.read_bytes()).hexdigest())


@pytest.fixture
def compared(db, settings, tmp_path):
    """A pairwise snapshot of six pairs (a clean and a damaged render of one world prompt each)."""
    from alignment.engine.synthetic import sample_prompt
    from annotation.services.prompts import prompt_create

    rng = np.random.default_rng(5)
    campaign = campaign_create(name="which is better", kind="pairwise", overlap=3)
    pairs = []
    for index in range(len(VOTES)):
        prompt = prompt_create(text=f"{sample_prompt(rng).to_text()} (pair {index})", source="synthetic")
        pairs.append((_clip(settings, prompt, index, clean=True).pk, _clip(settings, prompt, index, clean=False).pk))
    items = campaign_add_pairs(campaign=campaign, pairs=pairs)
    users = [add_member(campaign, UserFactory(roles=["annotator"])) for _ in range(3)]
    for item, (agreed, _) in zip(items, VOTES):
        dissent = {dim: {"A": "B", "B": "A", "tie": "A"}[choice] for dim, choice in agreed.items()}
        for j, user in enumerate(users):
            annotate_pair(item, user, dissent if j == 2 else agreed, shown_order="AB" if j % 2 else "BA")
    snapshot = snapshot_build(snapshot=snapshot_create(params={"filters": {"campaign_ids": [campaign.pk]}}),
                              out_dir=tmp_path / "snapshot")
    return snapshot, items


def _expected(snapshot, items):
    """The train split's pairs (as the snapshot's table says) whose votes prefer a side, with that side."""
    table = pq.read_table(f"{snapshot.folder_path}/data/pairs.parquet", columns=["pair", "split"]).to_pylist()
    train = {row["pair"] for row in table if row["split"] == "train"}
    return {item.pk: side for item, (_, side) in zip(items, VOTES) if side and item.pk in train}


def test_preferences_are_each_pairs_majority_side_and_ties_are_left_out(compared):
    snapshot, items = compared
    preferences = snapshot_preferences(snapshot=snapshot)
    expected = _expected(snapshot, items)
    assert expected, "the fixture's prompts should put some pairs in the train split"
    assert {p["item"]: p["preferred"] for p in preferences} == expected
    votes = {item.pk: agreed for item, (agreed, _) in zip(items, VOTES)}
    assert all(p["consensus"] == votes[p["item"]] for p in preferences)  # two of three outvote the dissent


def test_a_dpo_job_trains_on_peoples_pairs(compared, models_dir, generator, critic, real_clips, prompt_bank):
    snapshot, items = compared
    params = align_params(generator, critic, real_clips, objective="dpo", pairs="snapshot", snapshot=snapshot.pk,
                          candidates=None)
    job, _ = job_create(kind="align", params=params, dispatch=False)
    assert job.params["pairs"] == "snapshot" and job.params["candidates"] is None and job.params["real"] == []
    job = job_run(job_id=job.pk)
    assert job.status == "succeeded", job.error
    version = ModelVersion.objects.get(pk=job.result["version_id"])
    expected = _expected(snapshot, items)
    data = version.lineage["data"]
    assert data["pairs"] == data["human_pairs"] == len(expected) and data["candidates"] == 0
    assert [step for step, _ in job.metrics["curves"]["preference_accuracy"]] == [1, 2, 3, 4]
    assert version.metrics["heldout_reward_after"] is not None


def test_bad_pair_sources_are_refused(compared, generator, critic, real_clips, prompt_bank):
    snapshot, _ = compared
    cases = [
        (dict(objective="reward_weighted", pairs="snapshot"), "only used by the dpo"),
        (dict(objective="dpo", pairs="people"), "pairs must be"),
        (dict(objective="dpo", pairs="snapshot", candidates=None), "needs a snapshot"),
        (dict(objective="dpo", pairs="snapshot", snapshot=snapshot.pk), "leave candidates out"),
    ]
    for changes, message in cases:
        with pytest.raises(ApplicationError, match=message):
            job_create(kind="align", params=align_params(generator, critic, real_clips, **changes), dispatch=False)
