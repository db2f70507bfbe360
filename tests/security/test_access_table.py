"""Access control as a table: every operation of the OpenAPI schema × every role → the expected answer.

A cell says what the gate does, not what the body of a request makes of it:
- OK: the request gets past the gate (2xx, or a 4xx about the body or the object's state: 400, 409, 422);
- 401: not signed in; 403: signed in without the role; 404: the object is hidden (not yours looks like unknown).

Roles: anonymous; outsider (an annotator of another campaign); annotator (member of the campaign);
reviewer (member of the campaign); admin (member of nothing: admins see everything).
"""
import re
import uuid

import pytest
from rest_framework.test import APIClient

from tests.conftest import GOOD_RATINGS, token_client

OK = "ok"
ROLES = ("anonymous", "outsider", "annotator", "reviewer", "admin")
TABLE_FILE = "tests/security/test_access_table.py"


def row(anonymous, outsider, annotator, reviewer, admin) -> dict:
    return dict(zip(ROLES, (anonymous, outsider, annotator, reviewer, admin)))


PUBLIC = row(OK, OK, OK, OK, OK)
SIGNED_IN = row(401, OK, OK, OK, OK)
MEMBERS = row(401, 404, OK, OK, OK)  # campaign-scoped: another campaign's annotator is told it does not exist
OWN_LEASE = row(401, 404, OK, 404, 404)  # an assignment is its annotator's alone, admins included
REVIEWERS = row(401, 403, 403, OK, OK)
ADMINS_IN_CAMPAIGN = row(401, 404, 403, 403, OK)  # looked up first (hidden from outsiders), then the role
ADMINS = row(401, 403, 403, 403, OK)  # jobs, models, snapshots, uploads, membership
LINK_ONLY = row(403, 403, 403, 403, 403)  # the signed link is the credential; without one, nobody

TABLE = {
    ("POST", "/api/auth/token/"): PUBLIC,
    ("POST", "/api/auth/login/"): PUBLIC,
    ("POST", "/api/auth/logout/"): PUBLIC,
    ("GET", "/api/auth/csrf/"): PUBLIC,
    ("GET", "/api/auth/me/"): SIGNED_IN,
    ("GET", "/api/campaigns/"): SIGNED_IN,
    ("POST", "/api/campaigns/"): ADMINS,
    ("GET", "/api/campaigns/{campaign_id}/"): MEMBERS,
    ("PATCH", "/api/campaigns/{campaign_id}/"): ADMINS_IN_CAMPAIGN,
    ("POST", "/api/campaigns/{campaign_id}/next-task/"): MEMBERS,
    ("GET", "/api/campaigns/{campaign_id}/progress/"): MEMBERS,
    ("GET", "/api/campaigns/{campaign_id}/annotations/"): MEMBERS,
    ("POST", "/api/campaigns/{campaign_id}/items/"): ADMINS,
    ("GET", "/api/campaigns/{campaign_id}/members/"): ADMINS,
    ("POST", "/api/campaigns/{campaign_id}/members/"): ADMINS,
    ("DELETE", "/api/campaigns/{campaign_id}/members/{username}/"): ADMINS,
    ("GET", "/api/campaigns/{campaign_id}/quality/"): REVIEWERS,
    ("GET", "/api/campaigns/{campaign_id}/annotators/"): REVIEWERS,
    ("GET", "/api/campaigns/{campaign_id}/review-queue/"): REVIEWERS,
    ("GET", "/api/annotations/{annotation_id}/review/"): REVIEWERS,
    ("POST", "/api/annotations/{annotation_id}/review/"): REVIEWERS,
    ("POST", "/api/annotations/{annotation_id}/withdraw/"): OWN_LEASE,  # the annotator's own, like a lease
    ("POST", "/api/annotations/{annotation_id}/void/"): ADMINS,
    ("GET", "/api/annotations/{annotation_id}/audit/"): REVIEWERS,
    ("POST", "/api/assignments/{assignment_id}/submit/"): OWN_LEASE,
    ("POST", "/api/assignments/{assignment_id}/skip/"): OWN_LEASE,
    ("POST", "/api/assignments/{assignment_id}/extend/"): OWN_LEASE,
    ("GET", "/api/jobs/"): ADMINS,
    ("POST", "/api/jobs/"): ADMINS,
    ("GET", "/api/jobs/{job_id}/"): ADMINS,
    ("POST", "/api/jobs/{job_id}/cancel/"): ADMINS,
    ("POST", "/api/jobs/{job_id}/retry/"): ADMINS,
    ("GET", "/api/retrain/policy/"): ADMINS,
    ("PUT", "/api/retrain/policy/"): ADMINS,
    ("POST", "/api/retrain/loops/"): ADMINS,
    ("GET", "/api/retrain/triggers/"): ADMINS,
    ("GET", "/api/models/"): ADMINS,
    ("POST", "/api/models/{version_id}/promote/"): ADMINS,
    ("GET", "/api/models/{version_id}/export/"): ADMINS,
    ("GET", "/api/snapshots/"): ADMINS,
    ("POST", "/api/snapshots/"): ADMINS,
    ("GET", "/api/snapshots/{snapshot_id}/"): ADMINS,
    ("GET", "/api/snapshots/{snapshot_id}/download/"): ADMINS,
    ("GET", "/api/snapshots/{snapshot_id}/download-link/"): ADMINS,
    ("GET", "/api/snapshots/{snapshot_id}/signed-download/"): LINK_ONLY,
    ("POST", "/api/users/{username}/revoke-tokens/"): ADMINS,
    ("GET", "/api/prompt-categories/"): REVIEWERS,
    ("POST", "/api/prompt-categories/"): ADMINS,
    ("POST", "/api/prompt-categories/{category_id}/items/"): ADMINS,
    ("GET", "/api/prompts/"): REVIEWERS,
    ("POST", "/api/prompts/"): ADMINS,
    ("POST", "/api/prompts/combine/"): ADMINS,
    ("POST", "/api/prompts/expand/"): ADMINS,
    ("POST", "/api/prompts/import/"): ADMINS,
    ("GET", "/api/prompts/export/"): ADMINS,
    ("POST", "/api/videos/"): ADMINS,
    ("GET", "/api/console/overview/"): ADMINS,
    ("GET", "/api/console/videos/"): ADMINS,
}

# Path parameters → the object of the world below that the request names.
PARAMS = {
    "campaign_id": lambda w: w["campaign"].pk,
    "assignment_id": lambda w: w["lease"].pk,
    "annotation_id": lambda w: w["annotation"].pk,
    "username": lambda w: w["annotator"].username,
    "job_id": lambda w: w["job"].pk,
    "version_id": lambda w: w["version"].pk,
    "snapshot_id": lambda w: w["snapshot"].pk,
    "category_id": lambda w: w["category"].pk,
}

# Bodies that an allowed caller would send, so "allowed" mostly means a 2xx.
BODIES = {
    ("POST", "/api/auth/token/"): lambda w: {"username": w["annotator"].username, "password": "pw-for-tests-123"},
    ("POST", "/api/auth/login/"): lambda w: {"username": w["annotator"].username, "password": "pw-for-tests-123"},
    ("POST", "/api/campaigns/"): lambda w: {"name": "made by the access table"},
    ("PATCH", "/api/campaigns/{campaign_id}/"): lambda w: {"guidelines": "Look closely."},
    ("POST", "/api/campaigns/{campaign_id}/items/"): lambda w: {"video_ids": [w["spare_video"].pk]},
    ("POST", "/api/campaigns/{campaign_id}/members/"): lambda w: {"username": w["outsider"].username},
    ("POST", "/api/annotations/{annotation_id}/review/"): lambda w: {"action": "accept"},
    ("POST", "/api/annotations/{annotation_id}/withdraw/"): lambda w: {"reason": "Rated the wrong video."},
    ("POST", "/api/annotations/{annotation_id}/void/"): lambda w: {"reason": "A spammer's work."},
    ("POST", "/api/assignments/{assignment_id}/submit/"): lambda w: {"ratings": GOOD_RATINGS, "time_spent_ms": 900},
    ("POST", "/api/assignments/{assignment_id}/skip/"): lambda w: {"reason": "The video does not play."},
    ("POST", "/api/jobs/"): lambda w: {"kind": "snapshot", "params": {}},
    ("PUT", "/api/retrain/policy/"): lambda w: {"min_new_annotations": 50},
    ("POST", "/api/models/{version_id}/promote/"): lambda w: {"force": True, "reason": "checked by hand"},
    ("POST", "/api/snapshots/"): lambda w: {"campaign_ids": [w["campaign"].pk]},
    ("POST", "/api/prompt-categories/"): lambda w: {"name": "places", "role": "place", "items": ["on a beach"]},
    ("POST", "/api/prompt-categories/{category_id}/items/"): lambda w: {"items": ["a blue whale"]},
    ("POST", "/api/prompts/"): lambda w: {"text": "a red fox runs on a beach"},
    ("POST", "/api/videos/"): lambda w: {"prompt": "no file: refused after the gate"},
}
MULTIPART = {("POST", "/api/videos/"), ("POST", "/api/prompts/import/")}

PASSED_THE_GATE = {400, 409, 422}


def schema_operations() -> set[tuple[str, str]]:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    methods = {"get", "post", "put", "patch", "delete"}
    return {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops if method in methods}


def test_every_endpoint_of_the_schema_has_an_entry_in_the_table():
    operations = schema_operations()
    missing = sorted(operations - TABLE.keys())
    assert not missing, (
        f"These endpoints have no entry in the access table. Add one per operation to TABLE in {TABLE_FILE} "
        f"(who may call it: PUBLIC, SIGNED_IN, MEMBERS, OWN_LEASE, REVIEWERS, ADMINS_IN_CAMPAIGN, ADMINS, or a "
        f"row(...) of your own), and a body in BODIES if an allowed caller must send one:\n"
        + "\n".join(f'    ("{method}", "{path}"): ...,' for method, path in missing)
    )
    stale = sorted(TABLE.keys() - operations)
    assert not stale, f"These table entries name endpoints the schema no longer has; remove them from {TABLE_FILE}: {stale}"
    unknown = sorted({name for _, path in operations for name in re.findall(r"{(\w+)}", path)} - PARAMS.keys())
    assert not unknown, f"Path parameters without an object in PARAMS ({TABLE_FILE}); add one to the world: {unknown}"


@pytest.fixture
def world(db):
    """Campaign A (annotator and reviewer are members), campaign B (the outsider's), and one of each object."""
    from alignment.models import Job, ModelVersion
    from annotation.models import PromptCategory, Snapshot
    from annotation.services import leasing, submissions
    from tests.factories import CampaignFactory, ItemFactory, UserFactory, VideoFactory, add_member

    campaign, other = CampaignFactory(overlap=2), CampaignFactory(overlap=2)
    for _ in range(3):
        ItemFactory(campaign=campaign)
    ItemFactory(campaign=other)
    annotator = add_member(campaign, UserFactory(roles=["annotator"]))
    world = {
        "campaign": campaign,
        "annotator": annotator,
        "reviewer": add_member(campaign, UserFactory(roles=["reviewer"])),
        "admin": UserFactory(roles=["admin"]),
        "outsider": add_member(other, UserFactory(roles=["annotator"])),
        "spare_video": VideoFactory(),
        "job": Job.objects.create(kind="generate", dedupe_key="access-table"),
        "version": ModelVersion.objects.create(kind="critic", name="critic-a", base="tiny://critic"),
        "snapshot": Snapshot.objects.create(number=1),
        "category": PromptCategory.objects.create(name="animals", role="subject", items=["a red fox"]),
    }
    done = leasing.campaign_next_task(campaign=campaign, annotator=annotator)
    world["annotation"], _ = submissions.annotation_submit(
        assignment=done, annotator=annotator, ratings=GOOD_RATINGS, time_spent_ms=800, idempotency_key="access-table")
    world["lease"] = leasing.campaign_next_task(campaign=campaign, annotator=annotator)
    return world


def _client(world, role) -> APIClient:
    return APIClient() if role == "anonymous" else token_client(world[role])


def _call(world, role, method, path):
    url = re.sub(r"{(\w+)}", lambda m: str(PARAMS[m.group(1)](world)), path)
    body = BODIES.get((method, path), lambda w: {})(world)
    body_format = "multipart" if (method, path) in MULTIPART else "json"
    return getattr(_client(world, role), method.lower())(url, body, format=body_format,
                                                           HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))


CELLS = [(method, path, role, expected[role]) for (method, path), expected in TABLE.items() for role in ROLES]


@pytest.mark.parametrize("method, path, role, expected", CELLS, ids=[f"{m} {p} as {r}" for m, p, r, _ in CELLS])
def test_access(world, method, path, role, expected):
    response = _call(world, role, method, path)
    status = response.status_code
    assert status < 500, response.content
    if expected == OK:
        assert status < 400 or status in PASSED_THE_GATE, (
            f"{role} should get past the gate of {method} {path}, got {status}: {response.content[:300]!r}")
    else:
        assert status == expected, f"{role} on {method} {path}: expected {expected}, got {status}: {response.content[:300]!r}"
    if status >= 400:
        assert response.json()["detail"], response.content


def test_each_role_sees_only_what_it_may(world):
    from annotation.services import leasing, submissions

    campaign = world["campaign"]
    # The reviewer rates too, so the campaign holds work by two people.
    lease = leasing.campaign_next_task(campaign=campaign, annotator=world["reviewer"])
    submissions.annotation_submit(assignment=lease, annotator=world["reviewer"], ratings=GOOD_RATINGS,
                                  time_spent_ms=700, idempotency_key="reviewer-own")

    def annotators_seen(role):
        rows = _client(world, role).get(f"/api/campaigns/{campaign.pk}/annotations/").json()
        return sorted({entry["annotator"] for entry in rows})

    assert annotators_seen("annotator") == [world["annotator"].username]
    assert annotators_seen("reviewer") == annotators_seen("admin") == sorted(
        [world["annotator"].username, world["reviewer"].username])
    outsider_campaigns = [c["id"] for c in _client(world, "outsider").get("/api/campaigns/").json()]
    assert campaign.pk not in outsider_campaigns and len(outsider_campaigns) == 1
    all_campaigns = {c["id"] for c in _client(world, "admin").get("/api/campaigns/").json()}
    assert campaign.pk in all_campaigns and len(all_campaigns) == 2


def test_a_reviewer_of_another_campaign_is_told_it_does_not_exist(world):
    from tests.factories import CampaignFactory, UserFactory, add_member

    stranger = add_member(CampaignFactory(), UserFactory(roles=["reviewer"]))
    client = token_client(stranger)
    campaign_id, annotation_id = world["campaign"].pk, world["annotation"].pk
    for url in (f"/api/campaigns/{campaign_id}/quality/", f"/api/campaigns/{campaign_id}/review-queue/",
                f"/api/campaigns/{campaign_id}/annotations/", f"/api/annotations/{annotation_id}/review/"):
        assert client.get(url).status_code == 404, url


def test_an_annotator_removed_from_the_campaign_cannot_use_an_old_lease(world):
    client = token_client(world["annotator"])
    admin = token_client(world["admin"])
    lease_url = f"/api/assignments/{world['lease'].pk}"
    assert client.post(f"{lease_url}/extend/").status_code == 200
    removed = admin.delete(f"/api/campaigns/{world['campaign'].pk}/members/{world['annotator'].username}/")
    assert removed.status_code == 204
    for action, body in (("extend", {}), ("skip", {"reason": "gone"}), ("submit", {"ratings": GOOD_RATINGS})):
        response = client.post(f"{lease_url}/{action}/", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
        assert response.status_code == 404, (action, response.content)
