"""Import of the public LiFT-HRA format and of our own snapshots; bad files refused, nothing half-imported."""
import json
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from annotation.models import Annotation, Assignment, Campaign, CampaignItem, Video
from annotation.snapshots.export import snapshot_export
from annotation.snapshots.importer import hra_import
from lift.api_errors import ApplicationError
from tests.snapshots.util import rated_campaign

EXAMPLE = Path("/work/shared/data/lift_hra_example")
pytestmark = pytest.mark.django_db


@pytest.fixture
def example(tmp_path):
    """A private copy of the public example, so tests can break it."""
    if not (EXAMPLE / "lift_hra_example.json").is_file():
        pytest.skip("the shared LiFT-HRA example is not on this machine")
    target = tmp_path / "example"
    shutil.copytree(EXAMPLE, target)
    return target


def _media_files():
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_import_the_public_example(example):
    entries = json.loads((example / "lift_hra_example.json").read_text())
    counts = hra_import(source=example / "lift_hra_example.json", videos_dir=example / "videos", campaign_name="hra")
    videos = {e["video"] for e in entries}
    assert counts["annotations"] == Annotation.objects.count() == len(videos)
    assert Video.objects.filter(source="imported").count() == len(videos) == len(_media_files())
    annotation = Annotation.objects.select_related("item__video__prompt", "annotator").order_by("id").first()
    assert annotation.ratings["semantic"] == {"rating": "Normal",
                                              "rationale": "The cat is grey rather than white; the wall and sunset match."}
    assert annotation.ratings["fidelity"]["rating"] == "Bad"
    assert annotation.item.video.prompt.caption == "A white cat walks along a garden wall at sunset."
    assert annotation.annotator.username.startswith("hra_") and not annotation.annotator.has_usable_password()
    assert Assignment.objects.filter(state="submitted").count() == len(videos)
    item = CampaignItem.objects.get(pk=annotation.item_id)
    assert item.annotations_done == item.slots_taken == 1
    # Importing the same file again adds nothing.
    again = hra_import(source=example / "lift_hra_example.json", videos_dir=example / "videos", campaign_name="hra")
    assert again["annotations"] == 0 and again["skipped_existing"] == len(videos)
    assert Annotation.objects.count() == len(videos) and len(_media_files()) == len(videos)


def _break(example, change):
    entries = json.loads((example / "lift_hra_example.json").read_text())
    change(entries)
    path = example / "broken.json"
    path.write_text(json.dumps(entries, indent=1))
    return path


@pytest.mark.parametrize("change,message", [
    (lambda e: e[1]["conversations"][1].update(value="Great. Lovely."), "entry 1"),
    (lambda e: e[2]["conversations"][0].update(value="<video>\n A cat. How many legs does it have?"), "unknown question"),
    (lambda e: e[3].update(video="videos/missing.mp4"), "entry 3: video file"),
    (lambda e: e[0].pop("conversations"), "entry 0"),
])
def test_bad_entries_are_refused_with_the_entry_and_reason(example, change, message):
    path = _break(example, change)
    with pytest.raises(ApplicationError) as err:
        hra_import(source=path, videos_dir=example / "videos", campaign_name="hra")
    assert message in err.value.message
    assert not Annotation.objects.exists() and not Video.objects.exists() and not Campaign.objects.exists()
    assert _media_files() == []


def test_malformed_json_names_the_line(example):
    path = example / "malformed.json"
    path.write_text('[\n {"video": "videos/example_1.mp4",\n  "conversations": [}\n]')
    with pytest.raises(ApplicationError) as err:
        hra_import(source=path, videos_dir=example / "videos", campaign_name="hra")
    assert "line 3" in err.value.message and "malformed JSON" in err.value.message


def test_failure_midway_removes_copied_files(example, monkeypatch):
    from annotation.snapshots import import_writes as importer

    calls = []
    original = importer._importer_user

    def flaky(pseudonym):
        calls.append(pseudonym)
        if len(calls) > 1:
            raise RuntimeError("database went away")
        return original(pseudonym)

    monkeypatch.setattr(importer, "_importer_user", flaky)
    # Two source annotators: the second fails after the first video was already copied.
    path = _break(example, lambda e: e.extend(json.loads(json.dumps(e[:3]))))
    with pytest.raises(RuntimeError):
        hra_import(source=path, videos_dir=example / "videos", campaign_name="hra")
    assert _media_files() == []
    assert not Annotation.objects.exists() and not Video.objects.exists()


def test_import_command_refuses_with_the_reason(example):
    path = _break(example, lambda e: e[3]["conversations"][1].update(value="Superb. Nice."))
    with pytest.raises(CommandError, match="entry 3.*unknown rating word 'Superb'"):
        call_command("import_hra", str(path), "--videos", str(example / "videos"), "--campaign", "hra")
    call_command("import_hra", str(example / "lift_hra_example.json"), "--videos", str(example / "videos"),
                 "--campaign", "hra")
    assert Annotation.objects.exists()


def _data(folder):
    rows = sorted(json.dumps(json.loads(line), sort_keys=True)
                  for split in ("train", "validation", "test", "consensus")
                  for line in (folder / "data" / f"{split}.jsonl").read_text().splitlines())
    hra = sorted(json.dumps(e, sort_keys=True) for e in json.loads((folder / "lift_hra.json").read_text()))
    return rows, hra


def _export_again(first, name, folder):
    again = snapshot_export(filters={"campaign_ids": [Campaign.objects.get(name=name).pk]}, out_dir=folder,
                            include_videos=True)
    assert again["counts"] == first["counts"]
    assert again["distributions"] == first["distributions"] and again["agreement"] == first["agreement"]


def test_round_trip_export_import_export_gives_the_same_data(tmp_path):
    campaign, users, items, annotations = rated_campaign(n_videos=6, n_annotators=3)
    annotations[0].review_state = "accepted"
    annotations[0].save()
    first = snapshot_export(filters={"campaign_ids": [campaign.pk]}, out_dir=tmp_path / "one", include_videos=True)
    counts = hra_import(source=tmp_path / "one", videos_dir=None, campaign_name="round trip")
    assert counts["annotations"] == 18 and counts["videos_copied"] == 0  # same files: videos are reused by sha256
    _export_again(first, "round trip", tmp_path / "two")
    Video.objects.filter(pk__in=[i.video_id for i in items]).update(sha256="")  # now force fresh copies
    assert hra_import(source=tmp_path / "one", videos_dir=None, campaign_name="round trip 2")["videos_copied"] == 6
    _export_again(first, "round trip 2", tmp_path / "three")
    assert _data(tmp_path / "one") == _data(tmp_path / "two") == _data(tmp_path / "three")
