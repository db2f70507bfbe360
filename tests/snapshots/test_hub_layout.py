"""A snapshot loads like a Hub dataset: one plain `load_dataset(folder)` for the ratings, `load_dataset(folder,
"consensus")` for the consensus table, also with an empty split; the card carries the Hub's YAML header.
Every loaded row is checked against what the annotators submitted through the API."""
import json
from collections import Counter
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from alignment.services.jobs import job_run
from annotation.models import Annotation, Assignment, Prompt, Snapshot
from annotation.snapshots import hra_format as hra
from annotation.snapshots.importer import hra_import
from annotation.snapshots.questions import PUBLIC_QUESTIONS
from tests.conftest import submit, token_client
from tests.factories import CampaignFactory, ItemFactory, UserFactory, add_member
from tests.snapshots.util import real_video

LEVELS = ("Good", "Normal", "Bad")
DIMS = ("semantic", "motion", "fidelity")
PROMPTS = ("a heron fishing at dawn", "two children fly a red kite", "a tram turns a corner in the rain")


def _seed_with_an_empty_split() -> int:
    """A split seed that puts the three prompts into train and one other split, leaving a split empty."""
    for seed in range(1000):
        splits = {hra.split_for(hra.prompt_key(text, ""), seed) for text in PROMPTS}
        if "train" in splits and len(splits) == 2:
            return seed
    raise AssertionError("no such seed")


@pytest.fixture
def submitted(db):
    """Two videos per prompt, each rated by two annotators through next-task and submit; what they sent."""
    campaign = CampaignFactory(overlap=2)
    for n, text in enumerate(PROMPTS):
        prompt = Prompt.objects.create(text=text, normalized=text, caption=f"{text}, in detail.")
        for v in range(2):
            ItemFactory(campaign=campaign, video=real_video(1000 + 2 * n + v, prompt))
    sent = {}
    for a in range(2):
        user = add_member(campaign, UserFactory(roles=["annotator"]))
        client = token_client(user)
        while (task := client.post(f"/api/campaigns/{campaign.pk}/next-task/")).status_code == 200:
            k = len(sent)
            ratings = {dim: {"rating": LEVELS[(k + d * a) % 3], "rationale": f"{dim} of task {k}: as seen."}
                       for d, dim in enumerate(DIMS)}
            assert submit(client, task.data["id"], ratings=ratings, time_spent_ms=5000 + k).status_code == 201
            sent[task.data["id"]] = (ratings, 5000 + k)
    assert len(sent) == 12
    return campaign, sent


def _snapshot(admin_client, body) -> Snapshot:
    created = admin_client.post("/api/snapshots/", body, format="json")
    assert created.status_code == 201, created.content
    assert job_run(job_id=created.json()["job_id"]).status == "succeeded"
    return Snapshot.objects.get(pk=created.json()["id"])


def _expected_rows(sent):
    rows = {}
    for assignment_id, (ratings, ms) in sent.items():
        assignment = Assignment.objects.select_related("item__video__prompt", "annotator").get(pk=assignment_id)
        video, user = assignment.item.video, assignment.annotator
        row = {"video": hra.video_relpath(hra.video_key(video.sha256, video.pk), video.file.name),
               "prompt": video.prompt.text, "caption": video.prompt.caption, "time_spent_ms": ms,
               "annotator": hra.annotator_pseudonym(user.pk, user.username), "review_state": "pending"}
        for dim in DIMS:
            row[f"{dim}_rating"], row[f"{dim}_rationale"] = ratings[dim]["rating"], ratings[dim]["rationale"]
        rows[(row["video"], row["annotator"])] = row
    return rows


def test_load_dataset_reads_the_folder_as_submitted_also_with_an_empty_split(submitted, tmp_path):
    from datasets import load_dataset

    campaign, sent = submitted
    seed = _seed_with_an_empty_split()
    snapshot = _snapshot(token_client(UserFactory(roles=["admin"])), {"campaign_ids": [campaign.pk], "seed": seed})
    counts = snapshot.counts
    empty = [s for s in hra.SPLITS if counts[s] == 0]
    assert len(empty) == 1 and counts["train"] > 0

    ratings = load_dataset(snapshot.folder_path, cache_dir=str(tmp_path / "cache"))
    assert sorted(ratings) == sorted(s for s in hra.SPLITS if counts[s])
    expected = _expected_rows(sent)
    loaded = {}
    for split, rows in ratings.items():
        for row in rows:
            assert hra.split_for(hra.prompt_key(row["prompt"], ""), seed) == split
            loaded[(row["video"], row["annotator"])] = {key: row[key] for key in expected[(row["video"], row["annotator"])]}
    assert loaded == expected

    consensus = load_dataset(snapshot.folder_path, "consensus", cache_dir=str(tmp_path / "cache"))["consensus"]
    assert len(consensus) == 6
    for row in consensus:
        votes = Counter(r["semantic_rating"] for r in expected.values() if r["video"] == row["video"])
        assert {level: row[f"semantic_{level.lower()}_votes"] for level in LEVELS} == {lv: votes[lv] for lv in LEVELS}
        top = max(votes.values())
        assert row["semantic_consensus"] == max((lv for lv in LEVELS if votes[lv] == top), key=LEVELS.index)
        assert row["split"] == hra.split_for(hra.prompt_key(row["prompt"], ""), seed) and row["annotations"] == 2


def test_the_card_has_the_hub_yaml_header(submitted):
    from huggingface_hub import DatasetCard

    campaign, _ = submitted
    snapshot = _snapshot(token_client(UserFactory(roles=["admin"])), {"campaign_ids": [campaign.pk]})
    text = open(f"{snapshot.folder_path}/README.md", encoding="utf-8").read()
    header = yaml.safe_load(text.split("---\n")[1])
    card = DatasetCard(text)
    assert card.data.license == header["license"] == "other"
    assert card.data.task_categories == ["video-text-to-text", "video-classification"]
    assert card.data.size_categories == ["n<1K"]
    configs = {c["config_name"]: c for c in header["configs"]}
    assert configs["ratings"]["default"] is True and "default" not in configs["consensus"]
    assert configs["consensus"]["data_files"] == [{"split": "consensus", "path": "data/consensus.parquet"}]
    assert {f["split"] for f in configs["ratings"]["data_files"]} == {s for s in hra.SPLITS if snapshot.counts[s]}
    info = {i["config_name"]: i for i in header["dataset_info"]}
    features = {f["name"]: f["dtype"] for f in info["ratings"]["features"]}
    assert features["semantic_rating"] == "string" and features["time_spent_ms"] == "int64"
    assert sum(s["num_examples"] for s in info["ratings"]["splits"]) == 12
    assert info["consensus"]["splits"] == [{"name": "consensus", "num_examples": 6}]


def test_public_phrasing_is_a_snapshot_option_and_imports_back(submitted, tmp_path):
    campaign, sent = submitted
    snapshot = _snapshot(token_client(UserFactory(roles=["admin"])),
                         {"campaign_ids": [campaign.pk], "question_style": "public", "include_videos": True})
    assert snapshot.filters["question_style"] == "public" and snapshot.manifest["question_style"] == "public"
    entries = json.loads(open(f"{snapshot.folder_path}/lift_hra.json").read())
    assert len(entries) == 36
    for entry in entries:
        human = entry["conversations"][0]["value"]
        assert human.startswith("<video>\n ") and any(human.endswith(" " + q) for q in PUBLIC_QUESTIONS.values())
    # The public critic's phrasing reads back into the same ratings (videos found again by their bytes).
    counts = hra_import(source=Path(snapshot.folder_path) / "lift_hra.json", videos_dir=None,
                        campaign_name="public again")
    assert counts["annotations"] == 12 and counts["videos_copied"] == 0
    assert _ratings_per_video(Annotation.objects.filter(campaign__name="public again")) == \
        _ratings_per_video(Annotation.objects.filter(campaign=campaign))


def _ratings_per_video(annotations):
    found = {}
    for annotation in annotations:
        found.setdefault(annotation.item.video_id, []).append(json.dumps(annotation.ratings, sort_keys=True))
    return {video: sorted(ratings) for video, ratings in found.items()}


def test_the_command_and_the_job_write_the_same_phrasing(submitted, tmp_path):
    campaign, _ = submitted
    call_command("export_snapshot", "--campaign", str(campaign.pk), "--questions", "public", "--out",
                 str(tmp_path / "cmd"))
    by_command = json.loads((tmp_path / "cmd" / "lift_hra.json").read_text())
    assert all(e["conversations"][0]["value"].endswith(tuple(PUBLIC_QUESTIONS.values())) for e in by_command)
    call_command("export_snapshot", "--campaign", str(campaign.pk), "--out", str(tmp_path / "default"))
    default = json.loads((tmp_path / "default" / "lift_hra.json").read_text())
    assert not any(e["conversations"][0]["value"].endswith(tuple(PUBLIC_QUESTIONS.values())) for e in default)
