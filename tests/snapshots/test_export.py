"""Snapshot export: contents, LiFT-HRA format, splits, pseudonyms, determinism, loading with `datasets`."""
import hashlib
import json
import re

import pyarrow.parquet as pq
import pytest

from annotation.models import Snapshot
from annotation.snapshots.export import snapshot_export
from annotation.snapshots.services import snapshot_build, snapshot_create
from annotation.snapshots.writers import zip_folder
from tests.quality.util import annotate, ratings
from tests.snapshots.util import rated_campaign

pytestmark = pytest.mark.django_db


def _rows(folder, split):
    path = folder / "data" / f"{split}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def exported(tmp_path):
    campaign, users, items, annotations = rated_campaign()
    manifest = snapshot_export(filters={"campaign_ids": [campaign.pk]}, out_dir=tmp_path / "snap", seed=3,
                               include_videos=True, row_group_size=5)
    return {"campaign": campaign, "users": users, "items": items, "annotations": annotations,
            "manifest": manifest, "folder": tmp_path / "snap"}


def test_rows_columns_and_counts(exported):
    folder, manifest = exported["folder"], exported["manifest"]
    rows = [row for split in ("train", "validation", "test") for row in _rows(folder, split)]
    assert len(rows) == manifest["counts"]["annotations"] == 36
    assert sum(manifest["counts"][s] for s in ("train", "validation", "test")) == 36
    row = rows[0]
    for column in ("video", "prompt", "caption", "annotator", "time_spent_ms", "review_state", "semantic_rating",
                   "semantic_rationale", "motion_rating", "fidelity_rationale"):
        assert column in row
    # Pseudonyms: 16 hex characters, never a username; one per annotator.
    names = {u.username for u in exported["users"]}
    pseudonyms = {r["annotator"] for r in rows}
    assert len(pseudonyms) == 3 and all(re.fullmatch(r"[0-9a-f]{16}", p) for p in pseudonyms)
    assert not pseudonyms & names and not any(n in (folder / "lift_hra.json").read_text() for n in names)
    # Parquet and jsonl hold the same rows, written in several row groups.
    train = pq.ParquetFile(folder / "data" / "train.parquet")
    assert train.metadata.num_row_groups > 1
    assert train.read().to_pylist() == _rows(folder, "train")
    consensus = _rows(folder, "consensus")
    assert len(consensus) == 12 and sum(r["annotations"] for r in consensus) == 36
    assert {r["semantic_consensus"] for r in consensus} <= {"Good", "Normal", "Bad"}


def test_splits_never_share_a_prompt_and_follow_the_seed(exported, tmp_path):
    folder = exported["folder"]
    prompts = {split: {r["prompt"] for r in _rows(folder, split)} for split in ("train", "validation", "test")}
    assert not prompts["train"] & prompts["validation"]
    assert not prompts["train"] & prompts["test"] and not prompts["validation"] & prompts["test"]
    assert all(r["split"] in ("train", "validation", "test") for r in _rows(folder, "consensus"))
    again = snapshot_export(filters={"campaign_ids": [exported["campaign"].pk]}, out_dir=tmp_path / "again", seed=3)
    other = snapshot_export(filters={"campaign_ids": [exported["campaign"].pk]}, out_dir=tmp_path / "other", seed=11)
    assert again["counts"] == {**exported["manifest"]["counts"]}
    split_of = {seed: {r["prompt"]: r["split"] for r in _rows(tmp_path / name, "consensus")}
                for seed, name in ((3, "again"), (11, "other"))}
    assert split_of[3] != split_of[11]


def test_lift_hra_conversation_format(exported):
    entries = json.loads((exported["folder"] / "lift_hra.json").read_text())
    assert len(entries) == 36 * 3 == exported["manifest"]["counts"]["hra_entries"]
    questions = {dim["question"] for dim in exported["campaign"].schema["dimensions"]}
    for entry in entries:
        human, answer = entry["conversations"]
        assert entry["video"].startswith("videos/") and (exported["folder"] / entry["video"]).is_file()
        assert human["from"] == "human" and human["value"].startswith("<video>\n A detailed caption")
        assert any(human["value"].endswith(q) for q in questions)
        assert answer["from"] == "gpt" and re.match(r"^(Good|Normal|Bad)\. \w", answer["value"])


def test_manifest_hashes_every_file_and_card_has_figures(exported):
    folder, manifest = exported["folder"], exported["manifest"]
    on_disk = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert sorted(manifest["files"]) == [name for name in on_disk if name != "manifest.json"]
    for name, info in manifest["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == info["sha256"]
    card = (folder / "README.md").read_text()
    assert "| annotations | 36 |" in card and "Krippendorff" in card and "█" in card
    assert json.loads((folder / "manifest.json").read_text())["schema_version"] == 1


def test_same_snapshot_twice_gives_identical_bytes(exported, tmp_path):
    campaign = exported["campaign"]
    second = snapshot_export(filters={"campaign_ids": [campaign.pk]}, out_dir=tmp_path / "twice", seed=3,
                             include_videos=True, row_group_size=5)
    assert second["files"] == exported["manifest"]["files"]
    assert (tmp_path / "twice" / "manifest.json").read_bytes() == (exported["folder"] / "manifest.json").read_bytes()
    zip_folder(exported["folder"], tmp_path / "a.zip")
    zip_folder(tmp_path / "twice", tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_a_snapshot_keeps_its_cut_when_rebuilt(tmp_path):
    campaign, users, items, _ = rated_campaign(n_videos=4, n_annotators=2)
    snapshot = snapshot_create(params={"filters": {"campaign_ids": [campaign.pk]}})
    snapshot = snapshot_build(snapshot=snapshot, out_dir=tmp_path / "first")
    first = (tmp_path / "lift-hra-snapshot-1.zip").read_bytes()
    late = annotate(items[0], users[0].__class__.objects.create(username="late"), ratings())
    Snapshot.objects.filter(pk=snapshot.pk).update(status="failed")  # force a rebuild with the recorded cut
    snapshot = snapshot_build(snapshot=snapshot, out_dir=tmp_path / "first")
    assert snapshot.cut_max_id < late.pk
    assert (tmp_path / "lift-hra-snapshot-1.zip").read_bytes() == first
    assert snapshot_create(params={}).number == 2


def test_filters_select_states_and_campaigns(tmp_path):
    campaign, users, items, annotations = rated_campaign(n_videos=4, n_annotators=2)
    other_campaign, *_ = rated_campaign(n_videos=2, n_annotators=1)
    annotations[0].review_state = "rejected"
    annotations[0].save()
    annotations[1].review_state = "corrected"
    annotations[1].corrected_ratings = ratings("Bad", "Bad", "Bad", "Reviewer: everything is off.")
    annotations[1].save()
    manifest = snapshot_export(filters={"campaign_ids": [campaign.pk]}, out_dir=tmp_path / "a")
    assert manifest["counts"]["annotations"] == 7  # 8 minus the rejected one
    rows = [r for s in ("train", "validation", "test") for r in _rows(tmp_path / "a", s)]
    corrected = [r for r in rows if r["review_state"] == "corrected"]
    assert len(corrected) == 1 and corrected[0]["semantic_rationale"] == "semantic: Reviewer: everything is off."
    only_rejected = snapshot_export(filters={"campaign_ids": [campaign.pk], "review_states": ["rejected"]},
                                    out_dir=tmp_path / "b")
    assert only_rejected["counts"]["annotations"] == 1
    both = snapshot_export(filters={}, out_dir=tmp_path / "c")
    assert both["counts"]["annotations"] == 7 + 2
    future = snapshot_export(filters={"since": "2999-01-01"}, out_dir=tmp_path / "d")
    assert future["counts"]["annotations"] == 0
    assert pq.read_table(tmp_path / "d" / "data" / "train.parquet").num_rows == 0
    assert other_campaign.pk not in manifest["filters"]["campaign_ids"]


def test_loadable_with_hugging_face_datasets(exported, tmp_path):
    from datasets import load_dataset

    data = exported["folder"] / "data"
    splits = {s: str(data / f"{s}.parquet") for s in ("train", "validation", "test") if exported["manifest"]["counts"][s]}
    dataset = load_dataset("parquet", data_files=splits, cache_dir=str(tmp_path / "hf-cache"))
    assert sum(len(dataset[s]) for s in splits) == 36
    first = dataset["train"][0]
    assert first["semantic_rating"] in ("Good", "Normal", "Bad") and first["annotator"]
    consensus = load_dataset("parquet", data_files={"consensus": str(data / "consensus.parquet")},
                             cache_dir=str(tmp_path / "hf-cache"))["consensus"]
    assert len(consensus) == 12
