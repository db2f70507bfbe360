"""Quality of pairwise campaigns on constructed data with known answers: α over A / tie / B, consensus,
position bias, gold pairs."""
import uuid

import numpy as np
import pytest

from annotation.quality.pairs import (PairRecord, binomial_two_sided_p, left_counts, pair_majority,
                                      pair_quality_figures, position_bias, wilson_interval)
from tests.conftest import token_client
from tests.factories import UserFactory, add_member
from tests.pairs.util import DIMS, annotate_pair, pair_campaign, same


def _record(i, annotator, item, choice, order="AB"):
    return PairRecord(id=i, annotator=annotator, item=item, time_spent_ms=10_000, shown_order=order,
                      choices={dim: {"choice": choice, "rationale": "x"} for dim in DIMS})


def test_alpha_over_a_tie_b_by_hand():
    # Two coders, four pairs: agree on A, B, tie, disagree A/B. Coincidences: n = 8, n_A = n_B = 3, n_tie = 2,
    # 2 disagreeing values: alpha = 1 - (n - 1) * 2 / (2 * (3*3 + 3*2 + 3*2)) = 1 - 14/42 = 2/3.
    records = [_record(i * 2 + c, c, i, choice) for i, pair in enumerate([("A", "A"), ("B", "B"), ("tie", "tie"),
                                                                         ("A", "B")]) for c, choice in enumerate(pair)]
    figures = pair_quality_figures(records, list(DIMS), method="majority", samples=200, seed=1)
    semantic = figures["dimensions"]["semantic"]
    assert semantic["alpha_nominal"] == pytest.approx(2 / 3, abs=1e-4)
    low, high = semantic["alpha_ci"]
    assert low <= semantic["alpha_nominal"] <= high
    assert semantic["pairwise_agreement"] == 0.75 and semantic["pairable_units"] == 4
    # Consensus per pair: the split A/B pair is a tie, not a win for either side.
    assert [figures["consensus"][i]["semantic"] for i in range(4)] == ["A", "B", "tie", "tie"]
    assert semantic["consensus_counts"] == {"A": 1, "tie": 2, "B": 1}


def test_perfect_agreement_is_one():
    records = [_record(i * 3 + c, c, i, ("A", "B", "tie")[i % 3]) for i in range(9) for c in range(3)]
    figures = pair_quality_figures(records, list(DIMS), method="dawid_skene", samples=50)
    assert figures["dimensions"]["motion"]["alpha_nominal"] == 1.0


def test_majority_of_a_pair():
    counts = np.array([[2, 0, 1], [1, 1, 1], [0, 0, 3], [1, 0, 1], [0, 0, 0], [0, 2, 1]])
    assert pair_majority(counts).tolist() == [0, 1, 2, 1, -1, 1]


def test_binomial_and_wilson_known_values():
    assert binomial_two_sided_p(10, 10) == pytest.approx(2 / 1024)
    assert binomial_two_sided_p(0, 10) == pytest.approx(2 / 1024)
    assert binomial_two_sided_p(5, 10) == 1.0
    assert binomial_two_sided_p(8, 10) == pytest.approx(2 * (45 + 10 + 1) / 1024)
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)


def test_always_left_is_flagged_and_a_fair_annotator_is_not():
    records = []
    for i in range(20):
        order = "AB" if i % 2 == 0 else "BA"
        records.append(_record(i, 1, i, order[0], order))  # always the left video, whatever it is
        records.append(_record(100 + i, 2, i, "A", order))  # always A, wherever it was shown
    counts = left_counts(records)
    assert counts == {1: (60, 60), 2: (30, 60)}
    always_left = position_bias(*counts[1], min_choices=10, max_p=0.01)
    fair = position_bias(*counts[2], min_choices=10, max_p=0.01)
    assert always_left["flagged"] and always_left["bias"] == 0.5 and always_left["p_value"] < 1e-15
    assert not fair["flagged"] and fair["bias"] == 0.0 and fair["p_value"] == 1.0
    assert fair["bias_ci"][0] < 0 < fair["bias_ci"][1]
    assert not position_bias(5, 5, min_choices=10, max_p=0.01)["flagged"]  # too few choices to tell


def test_ties_do_not_count_towards_position_bias():
    records = [_record(i, 1, i, "tie") for i in range(30)]
    assert left_counts(records) == {}


def test_campaign_quality_and_annotator_figures_through_the_api(db):
    campaign, items = pair_campaign(pairs=12, overlap=3, gold={"semantic": "A", "motion": "tie", "fidelity": "B"})
    lefty, fair, careful = (add_member(campaign, UserFactory(roles=["annotator"])) for _ in range(3))
    for i, item in enumerate(items):
        order = "AB" if i % 2 == 0 else "BA"
        annotate_pair(item, lefty, same(order[0]), shown_order=order)
        annotate_pair(item, fair, same("A"), shown_order=order)
        annotate_pair(item, careful, {"semantic": "A", "motion": "tie", "fidelity": "B"}, shown_order=order)
    reviewer = token_client(add_member(campaign, UserFactory(roles=["reviewer"])))
    quality = reviewer.get(f"/api/campaigns/{campaign.pk}/quality/?samples=100")
    assert quality.status_code == 200, quality.json()
    body = quality.json()
    assert body["kind"] == "pairwise" and body["units"] == 12 and body["annotations"] == 36
    assert set(body["dimensions"]) == set(DIMS) and "alpha_nominal" in body["dimensions"]["semantic"]
    # Semantic: fair and careful both say A everywhere, so the consensus is A on every pair.
    assert body["dimensions"]["semantic"]["consensus_counts"] == {"A": 12, "tie": 0, "B": 0}
    assert {row["item"] for row in body["consensus"]} == {item.pk for item in items}
    figures = {f["username"]: f for f in reviewer.get(f"/api/campaigns/{campaign.pk}/annotators/").json()["annotators"]}
    assert figures[lefty.username]["flags"]["position_bias"] == 0.5
    assert figures[lefty.username]["position_bias"]["left_share"] == 1.0
    assert "position_bias" not in figures[fair.username]["flags"]
    assert figures[fair.username]["position_bias"]["bias"] == 0.0
    # Gold pair (the first item): careful matches it on all three dimensions, fair on one (semantic).
    assert figures[careful.username]["gold_accuracy"]["overall"] == {"correct": 3, "total": 3, "accuracy": 1.0}
    assert figures[fair.username]["gold_accuracy"]["overall"]["correct"] == 1
    # Careful's semantic A against the others: lefty and fair agree on A where A was on the left (half the
    # pairs); elsewhere they split A / B, which is a tie.
    assert figures[careful.username]["agreement_with_others"]["semantic"] == 0.5


def test_the_review_queue_lists_pairwise_annotations(db):
    campaign, items = pair_campaign(pairs=2)
    annotator = add_member(campaign, UserFactory(roles=["annotator"]))
    annotation = annotate_pair(items[0], annotator, same("B"), shown_order="BA")
    reviewer = token_client(add_member(campaign, UserFactory(roles=["reviewer"])))
    queue = reviewer.get(f"/api/campaigns/{campaign.pk}/review-queue/")
    assert queue.status_code == 200 and [row["annotation_id"] for row in queue.json()["results"]] == [annotation.pk]
    assert queue.json()["results"][0]["ratings"]["semantic"]["choice"] == "B"


def test_the_review_queue_puts_a_left_leaning_annotator_first_and_reads_ties_by_the_policy(db):
    campaign, items = pair_campaign(pairs=12, overlap=3, rationale_policy="unless_good")
    lefty, fair, tier = (add_member(campaign, UserFactory(roles=["annotator"])) for _ in range(3))
    for i, item in enumerate(items):
        order = "AB" if i % 2 == 0 else "BA"
        # Reasons of their own per pair (a repeated one is flagged as a duplicate, rightly).
        annotate_pair(item, lefty, same(order[0]), shown_order=order, rationale=uuid.uuid4().hex * 2)
        annotate_pair(item, fair, same("AABB"[i % 4]), shown_order=order,  # left, right, right, left, ...
                      rationale=uuid.uuid4().hex * 2)
        if i < 3:
            annotate_pair(item, tier, same("tie"), shown_order=order, rationale="")  # a tie needs no reason
    reviewer = token_client(add_member(campaign, UserFactory(roles=["reviewer"])))
    results = reviewer.get(f"/api/campaigns/{campaign.pk}/review-queue/?limit=100").json()["results"]
    assert len(results) == 27
    flags = {user.pk: {flag for row in results if row["annotator_id"] == user.pk for flag in row["flags"]}
             for user in (lefty, fair, tier)}
    assert flags == {lefty.pk: {"position_bias"}, fair.pk: set(), tier.pk: set()}
    assert all(row["rank"] == 0 for row in results if row["annotator_id"] == lefty.pk)
    assert any(row["disagreement"] for row in results if row["annotator_id"] == fair.pk)
    first = results[0]
    item = next(i for i in items if i.pk == first["item_id"])
    assert first["video_id"] == item.video_id and first["ratings"]["semantic"]["choice"] in ("A", "B")
