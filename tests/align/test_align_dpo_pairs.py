"""DPO on people's comparisons: a pairwise campaign's snapshot → each compared pair's consensus → an align job
with objective dpo and pairs "snapshot" trains on the preferred video against the other, and says so in its
lineage; pairs nobody preferred a side of are left out, and bad requests are refused before a job exists. The
retrain loop runs it from a fresh snapshot, with no candidates to generate."""
import pyarrow.parquet as pq
import pytest

from alignment.models import ModelVersion
from alignment.services.align_data import snapshot_preferences
from alignment.models import Job
from alignment.services.jobs import job_create, job_run, job_start
from lift.api_errors import ApplicationError
from tests.align.conftest import FAST_SETTINGS, align_params
from tests.pairs.util import world_pair_snapshot

# Per pair, what the three annotators chose on (semantic, motion, fidelity); the third one dissents.
VOTES = [
    ({"semantic": "A", "motion": "A", "fidelity": "tie"}, "A"),   # A wins two dimensions
    ({"semantic": "B", "motion": "tie", "fidelity": "B"}, "B"),   # B wins two
    ({"semantic": "A", "motion": "B", "fidelity": "tie"}, None),  # one each: no preference, left out
    ({"semantic": "tie", "motion": "tie", "fidelity": "A"}, "A"),
    ({"semantic": "B", "motion": "B", "fidelity": "B"}, "B"),
    ({"semantic": "A", "motion": "A", "fidelity": "A"}, "A"),
]


@pytest.fixture
def compared(db, settings, tmp_path):
    """A pairwise snapshot of six pairs (a clean and a damaged render of one world prompt each): four in the
    train split, two in the test split."""
    votes = [agreed for agreed, _ in VOTES]
    return world_pair_snapshot(settings.MEDIA_ROOT, tmp_path / "snapshot", votes,
                               ["train", "train", "train", "train", "test", "test"])


def _expected(snapshot, items):
    """The train split's pairs (as the snapshot's table says) whose votes prefer a side, with that side."""
    table = pq.read_table(f"{snapshot.folder_path}/data/pairs.parquet", columns=["pair", "split"]).to_pylist()
    train = {row["pair"] for row in table if row["split"] == "train"}
    return {item.pk: side for item, (_, side) in zip(items, VOTES) if side and item.pk in train}


def test_preferences_are_each_pairs_majority_side_and_ties_are_left_out(compared):
    snapshot, items = compared
    preferences = snapshot_preferences(snapshot=snapshot)
    expected = _expected(snapshot, items)
    assert len(expected) == 3  # four train pairs, one of them undecided
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


def test_the_retrain_loop_aligns_on_peoples_pairs_without_generating_candidates(
        compared, models_dir, generator, critic, prompt_bank):
    from alignment.services.registry import version_promote
    from tests.loop.conftest import drive

    snapshot, items = compared
    version_promote(version=generator)  # the critic fixture is active already
    align = {"objective": "dpo", "pairs": "snapshot", "settings": dict(FAST_SETTINGS),
             "heldout": {"count": 1, "seed": 9, "seeds": [0]}}
    loop, _ = job_create(kind="retrain_loop", dispatch=False, params={
        "stages": ["snapshot", "align", "evaluate_generator"], "source_campaign_ids": [items[0].campaign_id],
        "candidates": {"count": 2, "seeds": [0]}, "align": align})  # one seed is fine: nothing is generated
    job_start(job_id=loop.pk)
    loop = drive(loop.pk)
    assert loop.status == "succeeded", loop.error
    assert [s["name"] for s in loop.metrics["stages"]] == ["snapshot", "align", "evaluate_generator"]
    assert not loop.stages.filter(kind="generate").exists()  # (the align job generates its held-out videos itself)
    aligned = Job.objects.get(kind="align")
    fresh = loop.metrics["stages"][0]["job"]
    assert aligned.params["candidates"] is None and aligned.params["snapshot"] != snapshot.pk
    assert aligned.params["snapshot"] == Job.objects.get(pk=fresh).result["snapshot_id"]
    version = ModelVersion.objects.get(pk=aligned.result["version_id"])
    assert version.lineage["data"]["human_pairs"] == len(_expected(snapshot, items))  # the same people's pairs


def test_a_loop_that_would_align_on_peoples_pairs_needs_the_snapshot_stage(db, generator, critic):
    from alignment.services.registry import version_promote

    version_promote(version=generator)
    with pytest.raises(ApplicationError, match="needs snapshot"):
        job_create(kind="retrain_loop", dispatch=False, params={
            "stages": ["generate_candidates", "align"], "align": {"objective": "dpo", "pairs": "snapshot"}})
    with pytest.raises(ApplicationError, match="needs generate_candidates"):
        job_create(kind="retrain_loop", dispatch=False, params={
            "stages": ["snapshot", "align"], "align": {"objective": "dpo"}, "candidates": {"seeds": [0, 1]}})
    assert not Job.objects.filter(kind="retrain_loop").exists()
