"""Each flag fires on a case built to trip it and stays quiet on a clean one."""
from annotation.quality.flags import (
    AnnotationRecord, annotation_flags, gold_accuracy, low_gold_accuracy, straight_liners, thresholds_for,
)
from tests.quality.util import ratings

T = thresholds_for({})


def record(pk, annotator=1, video=None, ms=20_000, values=None):
    return AnnotationRecord(id=pk, annotator=annotator, video=video or pk, time_spent_ms=ms, ratings=values or ratings())


def _flags(records):
    annotation_flags(records, T, first_level="Good", policy="always")
    return {r.id: r.flags for r in records}


def test_clean_annotations_raise_no_flags():
    records = [
        record(1, values=ratings(rationale="The dog runs along the beach exactly as described.")),
        record(2, values=ratings(rationale="Colours are off: the car should be red but is green.")),
    ]
    assert _flags(records) == {1: [], 2: []}


def test_too_fast():
    assert _flags([record(1, ms=1200)])[1] == ["too_fast"]
    assert _flags([record(1, ms=T["min_time_ms"])])[1] == []


def test_short_rationale_and_the_unless_good_policy():
    short = ratings(rationale="ok")
    assert "short_rationale" in _flags([record(1, values=short)])[1]
    empty_good = {"semantic": {"rating": "Good", "rationale": ""},
                  "motion": {"rating": "Bad", "rationale": "Frames stutter and the arm teleports."},
                  "fidelity": {"rating": "Good", "rationale": ""}}
    r = record(2, values=empty_good)
    annotation_flags([r], T, first_level="Good", policy="unless_good")
    assert r.flags == []
    annotation_flags([r], T, first_level="Good", policy="always")
    assert r.flags == ["short_rationale"]


def test_near_duplicate_rationales_across_videos_of_one_annotator():
    text = "The woman's hands merge with the cup and the background flickers badly."
    near = "The womans hands merge with the cup, and the background flickers badly!"
    records = [
        record(1, annotator=1, video=10, values=ratings(rationale=text)),
        record(2, annotator=1, video=11, values=ratings(rationale=near)),
        # Same text by another annotator, and the same annotator on the same video: not flagged.
        record(3, annotator=2, video=12, values=ratings(rationale=text)),
        record(4, annotator=3, video=13, values=ratings(rationale=text)),
        record(5, annotator=3, video=13, values=ratings(rationale=text)),
        record(6, annotator=1, video=14, values=ratings(rationale="A totally different sentence about the horse.")),
    ]
    flags = _flags(records)
    assert flags[1] == flags[2] == ["duplicate_rationale"]
    assert flags[3] == flags[4] == flags[5] == flags[6] == []


def test_straight_lining_against_the_campaign_distribution():
    patterns = [("Good", "Good", "Good"), ("Bad", "Normal", "Bad"), ("Normal", "Bad", "Good"), ("Bad", "Bad", "Bad")]
    records, pk = [], 0
    for annotator in (1, 2, 3):  # varied annotators
        for i in range(12):
            pk += 1
            records.append(record(pk, annotator=annotator, values=ratings(*patterns[(i + annotator) % 4])))
    for _ in range(12):  # one who always answers Good, Good, Good
        pk += 1
        records.append(record(pk, annotator=9, values=ratings("Good", "Good", "Good")))
    liners = straight_liners(records, T)
    assert list(liners) == [9]
    assert liners[9]["share"] == 1.0 and liners[9]["others_share"] == 0.25


def test_uniform_campaign_does_not_flag_everyone():
    records = [record(i, annotator=i % 3, values=ratings("Bad", "Bad", "Bad")) for i in range(1, 40)]
    assert straight_liners(records, T) == {}


def test_gold_accuracy_per_dimension_and_low_accuracy_flag():
    gold = {100: {"semantic": "Good", "motion": "Bad"}, 101: {"semantic": "Bad", "motion": "Bad"}}
    records = [
        record(1, annotator=1, video=100, values=ratings("Good", "Bad")),
        record(2, annotator=1, video=101, values=ratings("Bad", "Bad")),
        record(3, annotator=2, video=100, values=ratings("Bad", "Good")),
        record(4, annotator=2, video=101, values=ratings("Good", "Bad")),
        record(5, annotator=2, video=555, values=ratings("Good", "Bad")),  # not gold: ignored
    ]
    accuracy = gold_accuracy(records, gold)
    assert accuracy[1]["overall"] == {"correct": 4, "total": 4, "accuracy": 1.0}
    assert accuracy[2]["semantic"] == {"correct": 0, "total": 2, "accuracy": 0.0}
    assert accuracy[2]["motion"]["accuracy"] == 0.5
    assert not low_gold_accuracy(accuracy[1], T)
    assert low_gold_accuracy(accuracy[2], T)
