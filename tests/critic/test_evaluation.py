"""Truth for the critic's test-split accuracy: the snapshot's consensus, else the majority with the worse
rating winning ties (as campaigns form it)."""
import json

from alignment.services.critic_evaluation import majority_rating, snapshot_consensus


def test_majority_breaks_ties_toward_the_worse_rating():
    assert majority_rating(["Good", "Bad"]) == "Bad"
    assert majority_rating(["Good", "Normal"]) == "Normal"
    assert majority_rating(["Good", "Good", "Bad"]) == "Good"


def test_snapshot_consensus_reads_the_consensus_table(tmp_path):
    (tmp_path / "data").mkdir()
    rows = [{"video": "videos/a.mp4", "semantic_consensus": "Good", "motion_consensus": None,
             "semantic_good_votes": 2},
            {"video": "videos/b.mp4", "semantic_consensus": "Bad", "motion_consensus": "Normal"}]
    (tmp_path / "data" / "consensus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert snapshot_consensus(tmp_path) == {"videos/a.mp4": {"semantic": "Good"},
                                            "videos/b.mp4": {"semantic": "Bad", "motion": "Normal"}}
    assert snapshot_consensus(tmp_path / "elsewhere") == {}
