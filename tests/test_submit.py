"""submit: validated against the schema and policy, lease checked, idempotent on its key."""
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import Annotation, Assignment
from tests.conftest import GOOD_RATINGS, submit, token_client


@pytest.fixture
def leased(people):
    client = token_client(people["annotator"])
    response = client.post(f"/api/campaigns/{people['campaign'].pk}/next-task/")
    assert response.status_code == 200
    return client, response.data["id"]


def test_submit_creates_one_annotation_and_a_retry_returns_it(leased):
    client, assignment_id = leased
    key = str(uuid.uuid4())
    first = submit(client, assignment_id, key=key)
    assert first.status_code == 201
    again = submit(client, assignment_id, key=key)
    assert again.status_code == 200 and again.data["id"] == first.data["id"]
    assert Annotation.objects.count() == 1
    assert Assignment.objects.get(pk=assignment_id).state == "submitted"


def test_same_key_with_a_different_body_is_refused(leased):
    client, assignment_id = leased
    key = str(uuid.uuid4())
    assert submit(client, assignment_id, key=key).status_code == 201
    other = {**GOOD_RATINGS, "semantic": {"rating": "Bad", "rationale": "Wrong colour."}}
    response = submit(client, assignment_id, ratings=other, key=key)
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Annotation.objects.count() == 1


def test_a_second_submit_with_a_new_key_conflicts(leased):
    client, assignment_id = leased
    assert submit(client, assignment_id).status_code == 201
    response = submit(client, assignment_id)
    assert response.status_code == 409 and Annotation.objects.count() == 1


@pytest.mark.parametrize(
    "ratings, field",
    [
        ({"semantic": GOOD_RATINGS["semantic"], "motion": GOOD_RATINGS["motion"]}, "fidelity"),
        ({**GOOD_RATINGS, "colour": {"rating": "Good", "rationale": "x"}}, "colour"),
        ({**GOOD_RATINGS, "motion": {"rating": "Excellent", "rationale": "x"}}, "motion"),
        ({**GOOD_RATINGS, "motion": {"rating": "Bad", "rationale": "   "}}, "motion"),
        ({**GOOD_RATINGS, "motion": {"rating": "Bad", "rationale": "x" * 2001}}, "motion"),
        ({**GOOD_RATINGS, "motion": {"rating": "Bad", "rationale": 42}}, "motion"),
        ({**GOOD_RATINGS, "motion": "Bad"}, "motion"),
    ],
)
def test_invalid_ratings_are_refused_with_the_dimension_named(leased, ratings, field):
    client, assignment_id = leased
    response = submit(client, assignment_id, ratings=ratings)
    assert response.status_code == 400
    body = response.json()
    assert field in body["fields"]["ratings"] and body["detail"]
    assert Annotation.objects.count() == 0
    assert Assignment.objects.get(pk=assignment_id).state == "leased"


def test_ratings_that_are_not_an_object_or_bad_time(leased):
    client, assignment_id = leased
    assert submit(client, assignment_id, ratings=["Good"]).status_code == 400
    assert submit(client, assignment_id, time_spent_ms=-5).status_code == 400
    response = client.post(f"/api/assignments/{assignment_id}/submit/", {"ratings": GOOD_RATINGS}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "idempotency_key_required"
    bad_json = client.post(f"/api/assignments/{assignment_id}/submit/", "{not json", content_type="application/json",
                           HTTP_IDEMPOTENCY_KEY="k1")
    assert bad_json.status_code == 400 and "detail" in bad_json.json()
    assert Annotation.objects.count() == 0


def test_rationale_policy_unless_good(people, leased):
    client, assignment_id = leased
    people["campaign"].rationale_policy = "unless_good"
    people["campaign"].save()
    ratings = {"semantic": {"rating": "Good"}, "motion": {"rating": "Good", "rationale": ""},
               "fidelity": {"rating": "Bad", "rationale": "  smeared faces  "}}
    response = submit(client, assignment_id, ratings=ratings)
    assert response.status_code == 201
    assert response.data["ratings"]["fidelity"]["rationale"] == "smeared faces"


def test_rationale_is_trimmed_and_2000_characters_is_fine(leased):
    client, assignment_id = leased
    ratings = {**GOOD_RATINGS, "motion": {"rating": "Bad", "rationale": " " + "y" * 2000 + " "}}
    assert submit(client, assignment_id, ratings=ratings).status_code == 201


def test_expired_lease_is_a_conflict_and_writes_nothing(leased):
    client, assignment_id = leased
    Assignment.objects.filter(pk=assignment_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = submit(client, assignment_id)
    assert response.status_code == 409 and response.json()["code"] == "lease_expired"
    assert Annotation.objects.count() == 0
    assert client.post(f"/api/assignments/{assignment_id}/extend/").status_code == 409


def test_someone_elses_assignment_is_not_found(people, leased):
    _, assignment_id = leased
    other = token_client(people["reviewer"])
    assert submit(other, assignment_id).status_code == 404
    assert other.post(f"/api/assignments/{assignment_id}/extend/").status_code == 404
    assert submit(other, 999999).status_code == 404


def test_extend_moves_the_expiry_forward(leased):
    client, assignment_id = leased
    Assignment.objects.filter(pk=assignment_id).update(expires_at=timezone.now() + timedelta(seconds=40))
    response = client.post(f"/api/assignments/{assignment_id}/extend/")
    assert response.status_code == 200
    assert Assignment.objects.get(pk=assignment_id).expires_at > timezone.now() + timedelta(seconds=500)


def test_skip_needs_a_reason(leased):
    client, assignment_id = leased
    response = client.post(f"/api/assignments/{assignment_id}/skip/", {}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["fields"]
