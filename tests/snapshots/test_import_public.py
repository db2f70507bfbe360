"""Import of LiFT-HRA files as the public code writes them (fixtures/README.md names the sources): every
phrasing of the questions, the caption before, inside or beside the question, loose answers; and files
in other schemas, identified by the schema's own questions and names. Bad entries: all listed, nothing written."""
import json
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from annotation.models import Annotation, Campaign, CampaignItem, Prompt, Video
from annotation.snapshots.importer import hra_import
from annotation.snapshots.questions import PUBLIC_QUESTIONS, QuestionReader
from annotation.schema import default_schema
from lift.api_errors import ApplicationError

FIXTURES = Path(__file__).parent / "fixtures"
CRANE = "A majestic crane stands gracefully in a shallow, tranquil wetland, its long legs elegantly positioned in the calm water."
PANDA = "A fluffy panda wears a futuristic spacesuit, standing on a high-tech space movie set."
WAITER = "A waiter in a black suit. He nods politely, conveying attentive service."
pytestmark = pytest.mark.django_db


def _folder(tmp_path, entries=None, name="lift_hra_public_phrasings.json"):
    """The fixture (or `entries`) in a folder with stand-in video files for every path it names."""
    folder = tmp_path / "hra"
    folder.mkdir(exist_ok=True)
    if entries is None:
        shutil.copy(FIXTURES / name, folder / name)
        entries = json.loads((folder / name).read_text())
    else:
        (folder / name).write_text(json.dumps(entries))
    for video in {e["video"] for e in entries if isinstance(e, dict) and isinstance(e.get("video"), str)}:
        (folder / video).parent.mkdir(parents=True, exist_ok=True)
        (folder / video).write_bytes(f"stand-in bytes of {video}".encode() * 20)
    return folder / name


def _ratings_by_video():
    return {a.item.video.prompt.caption: a.ratings
            for a in Annotation.objects.select_related("item__video__prompt")}


def test_every_public_phrasing_imports_without_edits(tmp_path):
    path = _folder(tmp_path)
    counts = hra_import(source=path, videos_dir=None, campaign_name="public")
    assert counts["annotations"] == 3 and counts["videos_copied"] == 3 and counts["kind"] == "lift-hra"
    assert _ratings_by_video() == {
        CRANE: {"semantic": {"rating": "Bad", "rationale": "The crane's eyes were not generated."},
                "fidelity": {"rating": "Bad", "rationale": "The crane's legs merge into the water."},
                "motion": {"rating": "Good", "rationale": ""}},
        PANDA: {"semantic": {"rating": "Normal", "rationale": "The helmet is missing."},
                "fidelity": {"rating": "Normal", "rationale": "The panda's gloves flicker between frames."},
                "motion": {"rating": "Good", "rationale": "Smooth, careful wiping."}},
        WAITER: {"semantic": {"rating": "Bad", "rationale": "The waiter is not nodding."}},
    }
    assert sorted(CampaignItem.objects.values_list("annotations_done", "slots_taken", "is_open")) == [(1, 1, True)] * 3
    # The prompt inside the question became the panda video's prompt; the others' captions came first.
    assert set(Prompt.objects.values_list("text", flat=True)) == {CRANE, PANDA, WAITER}
    assert hra_import(source=path, videos_dir=None, campaign_name="public")["skipped_existing"] == 3


@pytest.mark.parametrize("human,caption,prompt,dimension", [
    ("<video>\n A cat. " + PUBLIC_QUESTIONS["semantic"], "A cat.", "", "semantic"),
    ("<video>\n" + PUBLIC_QUESTIONS["semantic"] + " For this video, the text prompt is: a cat on a wall",
     "", "a cat on a wall", "semantic"),
    ("<image>\n<image>\nA cat." + " " + PUBLIC_QUESTIONS["fidelity"].upper(), "A cat.", "", "fidelity"),
    ("<video>\nA dog in slow motion.  Please   identify the motion issues in this video.", "A dog in slow motion.", "",
     "motion"),
    ("<video>\n A cat. PLEASE IDENTIFY THE SEMANTIC CONSISTENCY ISSUES IN THIS VIDEO, focusing on the alignment "
     "between the text and the visual content.", "A cat.", "", "semantic"),
])
def test_the_question_is_found_whatever_its_phrasing(human, caption, prompt, dimension):
    assert QuestionReader(default_schema()).read(human) == (caption, prompt, dimension)


def _other_schema():
    level = lambda v: {"value": v, "criteria": v}  # noqa: E731
    return {"dimensions": [
        {"key": "aesthetics", "label": "Aesthetic quality", "question": "How beautiful is this video?",
         "levels": [level("Excellent"), level("Fair"), level("Very poor")]},
        {"key": "lighting_quality", "label": "Lighting", "levels": [level("Excellent"), level("Very poor")]},
    ]}


def test_a_file_in_another_schema_is_read_by_the_schemas_questions_and_names(tmp_path):
    Campaign.objects.create(name="looks", schema=_other_schema())
    entries = [
        {"video": "videos/a.mp4", "conversations": [
            {"from": "human", "value": "<video>\n A sunset over a lake. how BEAUTIFUL is this   video?"},
            {"from": "gpt", "value": "very poor. Washed-out colours."}]},
        {"video": "videos/a.mp4", "conversations": [
            {"from": "human", "value": "<video>\n A sunset over a lake. Rate the lighting of the clip."},
            {"from": "gpt", "value": "Excellent."}]},
        {"video": "videos/b.mp4", "conversations": [
            {"from": "human", "value": "<video>\n A lamp. Please identify the lighting quality issues in this video."},
            {"from": "gpt", "value": "excellent . Even light."}]},
    ]
    counts = hra_import(source=_folder(tmp_path, entries), videos_dir=None, campaign_name="looks")
    assert counts["annotations"] == 2
    assert _ratings_by_video() == {
        "A sunset over a lake.": {"aesthetics": {"rating": "Very poor", "rationale": "Washed-out colours."},
                                  "lighting_quality": {"rating": "Excellent", "rationale": ""}},
        "A lamp.": {"lighting_quality": {"rating": "Excellent", "rationale": "Even light."}},
    }


def test_every_problem_is_listed_by_entry_and_nothing_is_written(tmp_path):
    entries = json.loads((FIXTURES / "lift_hra_public_phrasings.json").read_text())
    entries[1]["conversations"][0]["value"] = "<video>\n A crane. Please identify the lighting issues in this video."
    entries[3]["conversations"][1]["value"] = "Superb. Nice helmet."
    entries[4]["conversations"][0]["value"] = "<video>\n A panda on a set."  # names no dimension
    entries.append({"video": "videos/2.mp4"})
    path = _folder(tmp_path, entries)
    entries[6]["video"] = "videos/missing.mp4"
    path.write_text(json.dumps(entries))
    with pytest.raises(ApplicationError) as err:
        hra_import(source=path, videos_dir=None, campaign_name="public")
    errors = err.value.fields["errors"]
    assert [e.split(" ")[1].rstrip(":") for e in errors] == ["1", "3", "4", "6", "7"], errors
    assert "'lighting' issues, which no dimension" in errors[0]
    assert "unknown rating word 'Superb'" in errors[1]
    assert "names no dimension" in errors[2]
    assert "video file 'videos/missing.mp4' not found" in errors[3]
    assert "needs a 'video' path and a two-turn 'conversations'" in errors[4]
    assert err.value.message.startswith("Import refused: entry 1") and "(and 4 more)" in err.value.message
    assert not Annotation.objects.exists() and not Video.objects.exists() and not Campaign.objects.exists()
    assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_the_command_prints_every_problem(tmp_path):
    entries = json.loads((FIXTURES / "lift_hra_public_phrasings.json").read_text())
    for entry in entries[:3]:
        entry["conversations"][1]["value"] = "Splendid."
    path = _folder(tmp_path, entries)
    with pytest.raises(CommandError) as err:
        call_command("import_hra", str(path), "--campaign", "public")
    assert [line.strip()[:7] for line in str(err.value).splitlines()[1:]] == ["entry 0", "entry 1", "entry 2"]
    assert not Annotation.objects.exists()
