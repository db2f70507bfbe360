"""Quality figures, the reviewer queue and review decisions through the HTTP API, on the real database."""
import pytest

from annotation.models import Annotation, AnnotationReview
from tests.conftest import submit, token_client
from tests.factories import CampaignFactory, ItemFactory, UserFactory, add_member
from tests.quality.util import annotate, ratings


@pytest.fixture
def rated(people):
    """Three items rated by two annotators; item 0 disputed, one annotation too fast with short reasons."""
    campaign, items = people["campaign"], people["items"]
    other = add_member(campaign, UserFactory(roles=["annotator"]))
    annotator = people["annotator"]
    a = [
        annotate(items[0], annotator, ratings("Good", "Good", "Good", "The subject and motion match the text.")),
        annotate(items[0], other, ratings("Bad", "Good", "Good", "Wrong animal: a dog instead of a cat.")),
        annotate(items[1], annotator, ratings("Bad", "Normal", "Bad", "Two people instead of three, blurry.")),
        annotate(items[1], other, ratings("Bad", "Normal", "Bad", "Count is wrong and faces are smeared.")),
        annotate(items[2], other, ratings("Good", "Good", "Good", "ok"), time_spent_ms=800),
    ]
    return {**people, "other": other, "annotations": a}


def test_quality_endpoint_reports_agreement_ci_and_consensus(rated):
    response = token_client(rated["reviewer"]).get(f"/api/campaigns/{rated['campaign'].pk}/quality/?samples=50")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["units"] == 3 and body["annotations"] == 5 and body["consensus_method"] == "majority"
    semantic = body["dimensions"]["semantic"]
    # item 0 Good/Bad (tie -> Bad), item 1 Bad/Bad, item 2 Good alone.
    assert semantic["consensus_counts"] == {"Good": 1, "Normal": 0, "Bad": 2}
    assert semantic["pairwise_agreement"] == 0.5
    assert semantic["pairable_units"] == 2
    assert body["dimensions"]["motion"]["pairwise_agreement"] == 1.0
    assert len(semantic["alpha_ci"]) == 2


def test_annotator_figures_show_flags_and_agreement(rated):
    response = token_client(rated["admin"]).get(f"/api/campaigns/{rated['campaign'].pk}/annotators/")
    assert response.status_code == 200
    figures = {f["username"]: f for f in response.json()["annotators"]}
    other = figures[rated["other"].username]
    assert other["annotations"] == 3
    assert other["annotation_flags"] == {"short_rationale": 1, "too_fast": 1}
    mine = figures[rated["annotator"].username]
    assert mine["annotation_flags"] == {}
    # semantic: item0 disagree, item1 agree -> 0.5; motion and fidelity agree on both.
    assert mine["agreement_with_others"]["semantic"] == 0.5
    assert mine["agreement_with_others"]["motion"] == 1.0
    assert mine["per_hour"] == pytest.approx(2 / (40 / 3600), rel=1e-3)


def test_review_queue_puts_flagged_then_disputed_first(rated):
    response = token_client(rated["reviewer"]).get(f"/api/campaigns/{rated['campaign'].pk}/review-queue/")
    assert response.status_code == 200
    queue = response.json()["results"]
    ids = [entry["annotation_id"] for entry in queue]
    a = rated["annotations"]
    assert ids[0] == a[4].pk and queue[0]["flags"] == ["too_fast", "short_rationale"]
    assert set(ids[1:3]) == {a[0].pk, a[1].pk} and all(e["disagreement"] for e in queue[1:3])
    assert set(ids[3:]) == {a[2].pk, a[3].pk}


@pytest.mark.parametrize("who,expected", [("annotator", 403), ("outsider", 403), ("reviewer", 200), ("admin", 200)])
def test_quality_endpoints_are_for_member_reviewers_and_admins(rated, who, expected):
    client = token_client(rated[who])
    for path in ("quality", "annotators", "review-queue"):
        assert client.get(f"/api/campaigns/{rated['campaign'].pk}/{path}/").status_code == expected


def test_reviewer_of_another_campaign_gets_404(rated):
    stranger = UserFactory(roles=["reviewer"])
    add_member(CampaignFactory(), stranger)
    client = token_client(stranger)
    assert client.get(f"/api/campaigns/{rated['campaign'].pk}/quality/").status_code == 404
    response = client.post(f"/api/annotations/{rated['annotations'][0].pk}/review/", {"action": "accept"}, format="json")
    assert response.status_code == 404


def test_accept_correct_reject_keep_an_audit_trail(rated):
    client = token_client(rated["reviewer"])
    target = rated["annotations"][1]
    original = dict(target.ratings)
    assert client.post(f"/api/annotations/{target.pk}/review/", {"action": "accept"}, format="json").status_code == 201
    corrected = ratings("Normal", "Good", "Good", "On a second look the dog is a cat-like dog.")
    response = client.post(f"/api/annotations/{target.pk}/review/",
                           {"action": "correct", "ratings": corrected, "reason": "Checked against the prompt."},
                           format="json")
    assert response.status_code == 201, response.content
    assert response.json()["before"]["review_state"] == "accepted"
    assert response.json()["after"]["ratings"]["semantic"]["rating"] == "Normal"
    target.refresh_from_db()
    assert target.review_state == "corrected"
    assert target.ratings == original  # the annotator's answer is kept
    assert target.corrected_ratings["semantic"]["rating"] == "Normal"
    assert client.post(f"/api/annotations/{target.pk}/review/", {"action": "reject", "reason": "spam"},
                       format="json").status_code == 201
    trail = list(AnnotationReview.objects.filter(annotation=target).order_by("id").values_list("action", "reviewer"))
    assert trail == [("accept", rated["reviewer"].pk), ("correct", rated["reviewer"].pk), ("reject", rated["reviewer"].pk)]
    assert Annotation.objects.filter(pk=target.pk, review_state="rejected").exists()
    history = client.get(f"/api/annotations/{target.pk}/review/").json()
    assert [h["action"] for h in history] == ["accept", "correct", "reject"]
    # A rejected annotation no longer counts towards agreement: semantic now has no pairable disagreement.
    quality = client.get(f"/api/campaigns/{rated['campaign'].pk}/quality/?samples=0").json()
    assert quality["annotations"] == 4


@pytest.mark.parametrize("body,field", [
    ({"action": "correct", "ratings": ratings()}, "reason"),
    ({"action": "correct", "reason": "why"}, "ratings"),
    ({"action": "correct", "reason": "why", "ratings": {"semantic": {"rating": "Great"}}}, "ratings"),
    ({"action": "accept", "ratings": ratings()}, "ratings"),
    ({"action": "delete"}, "action"),
])
def test_bad_review_requests_are_400_and_change_nothing(rated, body, field):
    target = rated["annotations"][0]
    response = token_client(rated["reviewer"]).post(f"/api/annotations/{target.pk}/review/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    target.refresh_from_db()
    assert target.review_state == "pending" and target.corrected_ratings is None
    assert not AnnotationReview.objects.exists()


def test_annotators_cannot_review(rated):
    response = token_client(rated["annotator"]).post(
        f"/api/annotations/{rated['annotations'][0].pk}/review/", {"action": "accept"}, format="json")
    assert response.status_code == 403
    assert not AnnotationReview.objects.exists()


def test_gold_items_are_mixed_in_at_the_configured_rate(db):
    campaign = CampaignFactory(overlap=1, gold_rate=0.25)
    gold = [ItemFactory(campaign=campaign, gold_answer={"semantic": "Good", "motion": "Normal", "fidelity": "Bad"})
            for _ in range(4)]
    plain = [ItemFactory(campaign=campaign, priority=5) for _ in range(12)]
    annotator = add_member(campaign, UserFactory(roles=["annotator"]))
    client = token_client(annotator)
    served = []
    for _ in range(8):
        task = client.post(f"/api/campaigns/{campaign.pk}/next-task/").json()
        assert "gold" not in str(task)  # indistinguishable to the annotator
        served.append(task["video"]["id"])
        assert submit(client, task["id"]).status_code == 201
    gold_videos = {item.video_id for item in gold}
    assert sum(v in gold_videos for v in served) == 2  # 25% of 8, despite the plain items' higher priority
    assert len(plain) == 12
    admin = UserFactory(roles=["admin"])
    figures = token_client(admin).get(f"/api/campaigns/{campaign.pk}/annotators/").json()["annotators"][0]
    # GOOD_RATINGS is Good/Normal/Bad: every gold rating matches.
    assert figures["gold_accuracy"]["overall"] == {"correct": 6, "total": 6, "accuracy": 1.0}
