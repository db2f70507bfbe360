"""Snapshot reader: our jsonl rows, the public LiFT-HRA JSON, refusal of bad snapshots."""

import json
import shutil

import numpy as np
import pytest

from alignment.engine.critic.data import load_hra_examples
from alignment.engine.critic.questions import CriticDataError

EXAMPLE = "/work/shared/data/lift_hra_example"


def _write(snapshot, split, rows):
    (snapshot / "data").mkdir(parents=True, exist_ok=True)
    (snapshot / "data" / f"{split}.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def _video(snapshot):
    from alignment.engine.video_io import encode_video

    (snapshot / "videos").mkdir(parents=True, exist_ok=True)
    encode_video(np.zeros((4, 32, 32, 3), np.uint8), snapshot / "videos" / "a.mp4", fps=8)
    return "videos/a.mp4"


def test_reads_rows_with_relative_paths(tmp_path):
    video = _video(tmp_path)
    _write(tmp_path, "train", [
        {"video_path": video, "caption": "one red circle", "semantic_rating": "Good", "semantic_rationale": "Fine.",
         "motion_rating": "Bad", "motion_rationale": "Choppy.", "fidelity_rating": "Normal", "fidelity_rationale": ""},
        {"video_path": str(tmp_path / video), "prompt": "two blue squares", "fidelity_rating": "Bad",
         "motion_rating": None},
    ])
    examples = load_hra_examples(tmp_path, "train")
    assert [(e.dimension, e.rating) for e in examples] == [
        ("semantic", "Good"), ("motion", "Bad"), ("fidelity", "Normal"), ("fidelity", "Bad")]
    assert examples[0].video == str(tmp_path / video) and examples[0].reason == "Fine."
    assert examples[3].caption == "two blue squares"


@pytest.mark.parametrize("rows, message", [
    ([], "empty"),
    ([{"video_path": "videos/a.mp4", "caption": "x", "aesthetics_rating": "Good"}], "unknown dimension"),
    ([{"video_path": "videos/a.mp4", "caption": "x", "motion_rating": "Great"}], "unknown rating"),
    ([{"video_path": "videos/missing.mp4", "caption": "x", "motion_rating": "Good"}], "not found"),
    ([{"video_path": "videos/a.mp4", "motion_rating": "Good"}], "no caption"),
])
def test_refuses_bad_snapshots(tmp_path, rows, message):
    _video(tmp_path)
    _write(tmp_path, "train", rows)
    with pytest.raises(CriticDataError, match=message) as error:
        load_hra_examples(tmp_path, "train")
    assert error.value.reason


def test_missing_split_refused(tmp_path):
    with pytest.raises(CriticDataError, match="no split"):
        load_hra_examples(tmp_path, "test")


def test_public_conversation_json(tmp_path):
    shutil.copytree(EXAMPLE, tmp_path / "snap")
    (tmp_path / "snap" / "lift_hra_example.json").rename(tmp_path / "snap" / "lift_hra.json")
    examples = load_hra_examples(tmp_path / "snap", "train", check_files=False)
    assert len(examples) == 4
    assert examples[2].dimension == "fidelity" and examples[2].rating == "Bad"
    assert examples[0].caption == "A white cat walks along a garden wall at sunset."
    assert examples[3].reason == "Only one child appears and the kite is blue."
