"""The role × endpoint matrix: who may call what. Unknown or invisible objects are 404, never a leak."""
import pytest

from tests.conftest import token_client

# (method, path template, expected status per role). Paths use {campaign}.
MATRIX = [
    ("get", "/api/campaigns/", {"anonymous": 401, "outsider": 200, "annotator": 200, "reviewer": 200, "admin": 200}),
    ("get", "/api/campaigns/{campaign}/", {"anonymous": 401, "outsider": 404, "annotator": 200, "reviewer": 200, "admin": 200}),
    ("post", "/api/campaigns/{campaign}/next-task/", {"anonymous": 401, "outsider": 404, "annotator": 200, "reviewer": 200, "admin": 200}),
    ("get", "/api/campaigns/{campaign}/progress/", {"anonymous": 401, "outsider": 404, "annotator": 200, "reviewer": 200, "admin": 200}),
    ("get", "/api/campaigns/{campaign}/annotations/", {"anonymous": 401, "outsider": 404, "annotator": 200, "reviewer": 200, "admin": 200}),
    ("get", "/api/campaigns/{campaign}/members/", {"anonymous": 401, "outsider": 403, "annotator": 403, "reviewer": 403, "admin": 200}),
    ("post", "/api/campaigns/", {"anonymous": 401, "outsider": 403, "annotator": 403, "reviewer": 403, "admin": 201}),
    ("patch", "/api/campaigns/{campaign}/", {"anonymous": 401, "outsider": 404, "annotator": 403, "reviewer": 403, "admin": 200}),
    ("post", "/api/campaigns/{campaign}/items/", {"anonymous": 401, "outsider": 403, "annotator": 403, "reviewer": 403, "admin": 201}),
    ("get", "/api/jobs/", {"anonymous": 401, "outsider": 403, "annotator": 403, "reviewer": 403, "admin": 200}),
    ("get", "/api/models/", {"anonymous": 401, "outsider": 403, "annotator": 403, "reviewer": 403, "admin": 200}),
    ("get", "/api/auth/me/", {"anonymous": 401, "outsider": 200, "annotator": 200, "reviewer": 200, "admin": 200}),
]

BODIES = {
    "/api/campaigns/": {"name": "made by the matrix"},
    "/api/campaigns/{campaign}/": {"guidelines": "Look closely."},
    "/api/campaigns/{campaign}/items/": {"video_ids": []},
}


@pytest.mark.parametrize("method, template, expected", MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
@pytest.mark.parametrize("role", ["anonymous", "outsider", "annotator", "reviewer", "admin"])
def test_role_matrix(people, method, template, expected, role):
    client = token_client(None if role == "anonymous" else people[role])
    body = BODIES.get(template)
    if template.endswith("/items/"):
        body = {"video_ids": [people["items"][0].video_id]}
    response = getattr(client, method)(template.format(campaign=people["campaign"].pk), body, format="json")
    assert response.status_code == expected[role], response.content
    if response.status_code >= 400:
        assert response.json()["detail"]


def test_annotators_see_only_their_own_annotations(people):
    from tests.conftest import submit

    for role in ("annotator", "reviewer"):
        client = token_client(people[role])
        lease = client.post(f"/api/campaigns/{people['campaign'].pk}/next-task/")
        assert submit(client, lease.data["id"]).status_code == 201
    mine = token_client(people["annotator"]).get(f"/api/campaigns/{people['campaign'].pk}/annotations/").json()
    assert {a["annotator"] for a in mine} == {people["annotator"].username}
    everyone = token_client(people["reviewer"]).get(f"/api/campaigns/{people['campaign'].pk}/annotations/").json()
    assert len(everyone) == 2


def test_outsiders_do_not_see_campaigns_they_are_not_in(people):
    listed = token_client(people["outsider"]).get("/api/campaigns/").json()
    assert listed == []


def test_unknown_ids_are_404_json(people):
    client = token_client(people["admin"])
    for url in ("/api/campaigns/999999/", "/api/jobs/999999/", "/api/nope/"):
        response = client.get(url)
        assert response.status_code == 404 and response.json()["detail"]


def test_session_writes_need_csrf(people):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    assert client.post("/api/auth/login/", {"username": people["annotator"].username, "password": "pw-for-tests-123"},
                       format="json").status_code == 200
    refused = client.post(f"/api/campaigns/{people['campaign'].pk}/next-task/")
    assert refused.status_code == 403
    token = client.get("/api/auth/csrf/").json()["csrf_token"]
    allowed = client.post(f"/api/campaigns/{people['campaign'].pk}/next-task/", HTTP_X_CSRFTOKEN=token)
    assert allowed.status_code == 200


def test_wrong_password_is_401_json(people):
    response = token_client(None).post("/api/auth/token/", {"username": people["annotator"].username, "password": "no"},
                                       format="json")
    assert response.status_code == 401 and response.json()["code"] == "bad_credentials"
