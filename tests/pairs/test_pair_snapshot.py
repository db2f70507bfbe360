"""Snapshots of pairwise campaigns: the pairs table (parquet and jsonl, its own configuration in the card)
and VideoAlign's training CSVs, beside the rating tables of rating campaigns in the same snapshot."""
import csv
import json

import pyarrow.parquet as pq
import pytest
import yaml

from annotation.models import Video
from annotation.services.campaigns import campaign_add_pairs, campaign_create
from annotation.snapshots.export import snapshot_export
from annotation.snapshots.pairs import VIDEOALIGN_COLUMNS
from annotation.snapshots.services import snapshot_build, snapshot_create
from tests.factories import UserFactory, add_member
from tests.pairs.util import annotate_pair
from tests.snapshots.util import rated_campaign, real_video

pytestmark = pytest.mark.django_db
SPLITS = ("train", "validation", "test")


@pytest.fixture
def pair_data():
    """Eight pairs (own prompts), three annotators: on each pair two agree on what the pair's index says and
    the third picks the other side, so the consensus is known."""
    campaign = campaign_create(name="pairs to export", kind="pairwise", overlap=3)
    pairs = []
    for n in range(8):
        a = real_video(1000 + 2 * n)
        b = real_video(1001 + 2 * n, prompt=a.prompt)
        Video.objects.filter(pk__in=[a.pk, b.pk]).update(fps=8.0, frames=16)
        Video.objects.filter(pk=b.pk).update(frames=24)
        pairs.append((a.pk, b.pk))
    items = campaign_add_pairs(campaign=campaign, pairs=pairs)
    users = [add_member(campaign, UserFactory(roles=["annotator"])) for _ in range(3)]
    expected = {}
    for i, item in enumerate(items):
        majority = ("A", "B", "tie")[i % 3]
        # fidelity follows the index, motion is always A, semantic always a tie: VQ / MQ / TA are told apart.
        agreed = {"fidelity": majority, "motion": "A", "semantic": "tie"}
        dissent = {"fidelity": "B" if majority == "A" else "A", "motion": "B", "semantic": "A"}
        for j, user in enumerate(users):
            annotate_pair(item, user, dissent if j == 2 else agreed, shown_order="AB" if (i + j) % 2 else "BA")
        expected[item.pk] = agreed
    return campaign, items, users, expected


def _jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_pairs_table_and_card(pair_data, tmp_path):
    campaign, items, users, _ = pair_data
    rating_campaign, *_ = rated_campaign(n_videos=4, n_annotators=2)
    folder = tmp_path / "snap"
    manifest = snapshot_export(filters={"campaign_ids": [campaign.pk, rating_campaign.pk]}, out_dir=folder, seed=1,
                               bootstrap_samples=50)
    rows = _jsonl(folder / "data" / "pairs.jsonl")
    assert len(rows) == manifest["counts"]["pair_annotations"] == 24
    assert manifest["counts"]["pairs"] == 8 and manifest["counts"]["pair_annotators"] == 3
    assert sum(manifest["counts"][f"pairs_{s}"] for s in SPLITS) == 24
    assert pq.ParquetFile(folder / "data" / "pairs.parquet").read().to_pylist() == rows
    # The rating tables hold only the rating campaign's annotations.
    assert manifest["counts"]["annotations"] == 8
    assert sum(len(_jsonl(folder / "data" / f"{s}.jsonl")) for s in SPLITS) == 8
    row = rows[0]
    assert row["pair"] == items[0].pk and row["video_A"].startswith("videos/") and row["video_A"] != row["video_B"]
    assert row["shown_order"] in ("AB", "BA") and row["split"] in SPLITS
    assert {r["fidelity_choice"] for r in rows} == {"A", "B", "tie"}
    assert {r["semantic_choice"] for r in rows} == {"tie", "A"} and row["semantic_rationale"]
    assert not {u.username for u in users} & {r["annotator"] for r in rows}
    assert manifest["pair_agreement"]["fidelity"]["pairable_units"] == 8
    header = yaml.safe_load((folder / "README.md").read_text().split("---\n")[1])
    configs = {c["config_name"]: c for c in header["configs"]}
    assert configs["pairs"]["data_files"] == [{"split": "pairs", "path": "data/pairs.parquet"}]
    assert configs["ratings"].get("default") and not configs["pairs"].get("default")
    info = {c["config_name"]: c for c in header["dataset_info"]}["pairs"]
    assert {"name": "fidelity_choice", "dtype": "string"} in info["features"]
    assert info["splits"] == [{"name": "pairs", "num_examples": 24}]
    assert "## Agreement on pairs" in (folder / "README.md").read_text()
    assert not (folder / "videoalign").exists()  # only on request


def test_videoalign_csv_holds_each_pair_consensus(pair_data, tmp_path):
    campaign, items, _, expected = pair_data
    folder = tmp_path / "snap"
    snapshot_export(filters={"campaign_ids": [campaign.pk]}, out_dir=folder, seed=1, videoalign_csv=True,
                    include_videos=True, bootstrap_samples=50)
    by_path = {}
    for split in SPLITS:
        with open(folder / "videoalign" / f"{split}.csv", newline="") as handle:
            reader = csv.DictReader(handle)
            assert reader.fieldnames == VIDEOALIGN_COLUMNS
            by_path.update({row["path_A"]: row for row in reader})
    assert len(by_path) == 8
    pairs = {r["video_A"]: r["pair"] for r in _jsonl(folder / "data" / "pairs.jsonl")}
    label = {"A": "A", "B": "B", "tie": "same"}
    for path_a, row in by_path.items():
        want = expected[pairs[path_a]]
        assert (row["VQ"], row["MQ"], row["TA"]) == (label[want["fidelity"]], label[want["motion"]],
                                                     label[want["semantic"]])
        assert (row["fps_A"], row["num_frames_A"], row["num_frames_B"]) == ("8.0", "16", "24")
        assert (folder / row["path_A"]).exists() and (folder / row["path_B"]).exists()  # relative to the folder
        assert row["prompt"].startswith("A detailed caption")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert "videoalign/train.csv" in manifest["files"]
    assert "pairs" in (folder / "README.md").read_text()


def test_a_snapshot_job_asks_for_videoalign_csv(pair_data, tmp_path):
    campaign, *_ = pair_data
    snapshot = snapshot_create(params={"filters": {"campaign_ids": [campaign.pk]}, "videoalign_csv": True})
    assert snapshot.filters["videoalign_csv"] is True
    snapshot = snapshot_build(snapshot=snapshot, out_dir=tmp_path / "built")
    assert snapshot.status == "ready" and (tmp_path / "built" / "videoalign" / "test.csv").exists()
    plain = snapshot_create(params={"filters": {"campaign_ids": [campaign.pk]}})
    assert "videoalign_csv" not in plain.filters  # params of snapshots that do not ask stay as they were


def test_the_snapshot_api_takes_videoalign_csv(pair_data):
    from tests.conftest import token_client

    campaign, *_ = pair_data
    admin = token_client(UserFactory(roles=["admin"]))
    bad = admin.post("/api/snapshots/", {"campaign_ids": [campaign.pk], "videoalign_csv": "maybe"}, format="json")
    assert bad.status_code == 400


def test_the_pairs_configuration_loads_with_hugging_face_datasets(pair_data, tmp_path):
    from datasets import load_dataset

    campaign, *_ = pair_data
    folder = tmp_path / "snap"
    snapshot_export(filters={"campaign_ids": [campaign.pk]}, out_dir=folder, seed=1, bootstrap_samples=20)
    pairs = load_dataset(str(folder), "pairs", cache_dir=str(tmp_path / "hf-cache"))["pairs"]
    assert len(pairs) == 24 and pairs[0]["fidelity_choice"] in ("A", "B", "tie")
