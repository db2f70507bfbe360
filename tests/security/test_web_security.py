"""Web security: CSRF, production settings, throttles, revocable tokens, password hashing, uploads by
content and size, expiring snapshot download links."""
import json
import time
import uuid

import numpy as np
import pytest
from rest_framework.test import APIClient

from alignment.engine.video_io import encode_video
from annotation.models import Video
from tests.conftest import token_client
from tests.factories import UserFactory
from tests.test_platform import _run_python

PASSWORD = "pw-for-tests-123"


# CSRF ---------------------------------------------------------------------------------------------------

def test_session_writes_without_csrf_are_refused_as_json_and_token_writes_need_none(people):
    browser = APIClient(enforce_csrf_checks=True)
    assert browser.post("/api/auth/login/", {"username": people["admin"].username, "password": PASSWORD},
                        format="json").status_code == 200
    refused = browser.patch(f"/api/campaigns/{people['campaign'].pk}/", {"guidelines": "x"}, format="json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    # Plain Django views (the unknown-URL catch-all) answer CSRF failures in JSON too, and a 404 stays a 404.
    assert browser.post("/api/no-such-endpoint/", {}, format="json").json()["code"] == "not_found"
    csrf = browser.get("/api/auth/csrf/").json()["csrf_token"]
    allowed = browser.patch(f"/api/campaigns/{people['campaign'].pk}/", {"guidelines": "x"}, format="json",
                            HTTP_X_CSRFTOKEN=csrf)
    assert allowed.status_code == 200
    script = APIClient(enforce_csrf_checks=True)
    script.credentials(HTTP_AUTHORIZATION=token_client(people["admin"])._credentials["HTTP_AUTHORIZATION"])
    assert script.patch(f"/api/campaigns/{people['campaign'].pk}/", {"guidelines": "y"},
                        format="json").status_code == 200


# Production settings and passwords ----------------------------------------------------------------------

PRODUCTION_ENV = {"DJANGO_SETTINGS_MODULE": "lift.settings.production",
                  "SECRET_KEY": "a-long-random-production-secret-key-0123456789-abcdefghijkl"}


def test_production_cookies_hsts_redirect_and_the_default_password_hasher():
    code = (
        "import django, json; django.setup(); from django.conf import settings, global_settings;"
        "from django.contrib.auth.hashers import make_password, check_password;"
        "stored = make_password('correct horse');"
        "print(json.dumps({name: getattr(settings, name) for name in ('SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE',"
        " 'SESSION_COOKIE_HTTPONLY', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS',"
        " 'SECURE_CONTENT_TYPE_NOSNIFF', 'PASSWORD_HASHERS')} | {'default_hashers': global_settings.PASSWORD_HASHERS,"
        " 'stored': stored, 'checks': check_password('correct horse', stored), 'wrong': check_password('x', stored)}))"
    )
    result = _run_python(code, **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["SESSION_COOKIE_SECURE"] and seen["CSRF_COOKIE_SECURE"] and seen["SESSION_COOKIE_HTTPONLY"]
    assert seen["SECURE_SSL_REDIRECT"] and seen["SECURE_HSTS_SECONDS"] >= 31536000
    assert seen["SECURE_HSTS_INCLUDE_SUBDOMAINS"] and seen["SECURE_CONTENT_TYPE_NOSNIFF"]
    # Django's own default hasher (PBKDF2-SHA256): salted, iterated, never the plain text.
    assert seen["PASSWORD_HASHERS"] == seen["default_hashers"]
    assert seen["stored"].startswith("pbkdf2_sha256$") and "correct horse" not in seen["stored"]
    assert seen["checks"] and not seen["wrong"]


# Throttles ----------------------------------------------------------------------------------------------

@pytest.fixture
def low_rates(settings):
    """Rates low enough to hit, and a cache key prefix of this test's own (Redis is shared)."""
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"throttle-test-{uuid.uuid4().hex}"}}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"anon": "1000/min", "user": "5/min", "login": "3/min"}}


def test_api_calls_are_throttled_per_user_with_a_json_429(people, low_rates):
    annotator, reviewer = token_client(people["annotator"]), token_client(people["reviewer"])
    answers = [annotator.get("/api/auth/me/").status_code for _ in range(6)]
    assert answers == [200] * 5 + [429]
    throttled = annotator.get("/api/campaigns/")
    assert throttled.status_code == 429 and throttled.json()["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0
    assert reviewer.get("/api/auth/me/").status_code == 200  # another user's budget is their own


def test_a_request_costs_one_sorted_set_entry_and_a_refused_one_none(people, low_rates):
    from django.core.cache import caches

    cache = caches["default"]
    key = cache.make_key(f"throttle_user_{people['annotator'].pk}")
    client = cache._cache.get_client(key)
    annotator = token_client(people["annotator"])
    assert [annotator.get("/api/auth/me/").status_code for _ in range(5)] == [200] * 5
    assert client.type(key) == b"zset" and client.zcard(key) == 5 and 0 < client.ttl(key) <= 60
    refused = annotator.get("/api/auth/me/")
    assert refused.status_code == 429 and 55 <= int(refused["Retry-After"]) <= 60
    assert client.zcard(key) == 5  # refused calls do not extend the wait (DRF's sliding window)


def test_password_guesses_are_throttled_per_username(people, low_rates):
    client = APIClient()
    guesses = [client.post("/api/auth/token/", {"username": people["annotator"].username, "password": f"guess{i}"},
                           format="json").status_code for i in range(4)]
    assert guesses == [401, 401, 401, 429]
    # Even the right password waits now; other users can still sign in from the same address.
    assert client.post("/api/auth/login/", {"username": people["annotator"].username, "password": PASSWORD},
                       format="json").status_code in (200, 429)
    assert client.post("/api/auth/token/", {"username": people["reviewer"].username, "password": PASSWORD},
                       format="json").status_code == 200


# Tokens -------------------------------------------------------------------------------------------------

def _token_for(user) -> APIClient:
    client = APIClient()
    key = client.post("/api/auth/token/", {"username": user.username, "password": PASSWORD}, format="json").json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_logout_revokes_the_token(people):
    client = _token_for(people["annotator"])
    assert client.get("/api/auth/me/").status_code == 200
    assert client.post("/api/auth/logout/").status_code == 204
    revoked = client.get("/api/auth/me/")
    assert revoked.status_code == 401 and revoked.json()["detail"]
    assert _token_for(people["annotator"]).get("/api/auth/me/").status_code == 200  # signing in again works


def test_an_admin_revokes_a_users_tokens(people):
    client = _token_for(people["annotator"])
    admin = token_client(people["admin"])
    assert token_client(people["reviewer"]).post(
        f"/api/users/{people['annotator'].username}/revoke-tokens/").status_code == 403
    revoked = admin.post(f"/api/users/{people['annotator'].username}/revoke-tokens/")
    assert revoked.status_code == 200 and revoked.json() == {"revoked": 1, "sessions": 0}
    assert client.get("/api/campaigns/").status_code == 401
    assert admin.post("/api/users/nobody-by-this-name/revoke-tokens/").status_code == 404


def _signed_in_browser(user) -> APIClient:
    browser = APIClient()
    assert browser.post("/api/auth/login/", {"username": user.username, "password": PASSWORD},
                        format="json").status_code == 200
    assert browser.get("/api/auth/me/").status_code == 200
    return browser


def test_revoking_a_users_access_ends_their_browser_sessions_and_only_theirs(people):
    laptop, phone = _signed_in_browser(people["annotator"]), _signed_in_browser(people["annotator"])
    colleague = _signed_in_browser(people["reviewer"])
    revoked = token_client(people["admin"]).post(f"/api/users/{people['annotator'].username}/revoke-tokens/")
    assert revoked.json() == {"revoked": 0, "sessions": 2}
    for browser in (laptop, phone):
        signed_out = browser.get("/api/auth/me/")
        assert signed_out.status_code == 401 and signed_out.json()["detail"]
    assert colleague.get("/api/auth/me/").status_code == 200
    assert _signed_in_browser(people["annotator"])  # signing in again works


# Uploads ------------------------------------------------------------------------------------------------

@pytest.fixture
def admin_client(db):
    return token_client(UserFactory(roles=["admin"]))


def _stored(settings) -> list:
    return [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]


def test_uploads_are_judged_by_content_not_by_name(admin_client, tmp_path, settings):
    text = tmp_path / "holiday.mp4"
    text.write_text("#!/bin/sh\necho this is a shell script wearing an .mp4 name\n")
    with open(text, "rb") as handle:
        refused = admin_client.post("/api/videos/", {"file": handle})
    assert refused.status_code == 400 and refused.json()["code"].startswith("video_")
    video = tmp_path / "clip.txt"
    encode_video(np.full((8, 32, 32, 3), 90, dtype=np.uint8), video.with_suffix(".mp4"), fps=8)
    video.with_suffix(".mp4").rename(video)
    with open(video, "rb") as handle:
        accepted = admin_client.post("/api/videos/", {"file": handle})
    assert accepted.status_code == 201, accepted.content
    assert Video.objects.get().file.name.endswith(".mp4")


def test_an_oversized_upload_is_refused_before_it_is_stored(admin_client, tmp_path, settings):
    settings.LIFT = {**settings.LIFT, "MAX_UPLOAD_BYTES": 10_000}
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\x00" * (10_000 + 2 * 1024 * 1024))
    with open(big, "rb") as handle:
        response = admin_client.post("/api/videos/", {"file": handle})
    assert response.status_code == 413 and response.json()["code"] == "video_too_large"
    assert Video.objects.count() == 0 and _stored(settings) == []


# Snapshot download links --------------------------------------------------------------------------------

@pytest.fixture
def ready_snapshot(db):
    from alignment.services.jobs import job_run
    from tests.snapshots.util import rated_campaign

    admin = UserFactory(roles=["admin"])
    campaign, *_ = rated_campaign(n_videos=2, n_annotators=2)
    created = token_client(admin).post("/api/snapshots/", {"campaign_ids": [campaign.pk]}, format="json").json()
    assert job_run(job_id=created["job_id"]).status == "succeeded"
    return admin, created["id"]


def _link(admin, snapshot_id) -> str:
    response = token_client(admin).get(f"/api/snapshots/{snapshot_id}/download-link/")
    assert response.status_code == 200, response.content
    return response.json()["url"]


def test_a_download_link_works_without_credentials_until_it_expires(ready_snapshot, monkeypatch):
    from django.core import signing

    admin, snapshot_id = ready_snapshot
    url = _link(admin, snapshot_id)
    download = APIClient().get(url)  # no token, no session: the link is the credential
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert b"".join(download.streaming_content)[:2] == b"PK"
    # A link made eleven minutes ago (validity: ten) is refused.
    monkeypatch.setattr(signing.TimestampSigner, "timestamp",
                        lambda self: signing.b62_encode(int(time.time()) - 11 * 60))
    expired = APIClient().get(_link(admin, snapshot_id))
    assert expired.status_code == 403 and "expired" in expired.json()["detail"]


def test_tampered_foreign_and_demoted_links_are_403_json(ready_snapshot):
    admin, snapshot_id = ready_snapshot
    url = _link(admin, snapshot_id)
    path, token = url.split("?token=")
    for bad in (f"{path}?token={token[:-2]}xx", f"{path}?token=", path,
                url.replace(f"/snapshots/{snapshot_id}/", f"/snapshots/{snapshot_id + 1}/")):
        response = APIClient().get(bad)
        assert response.status_code == 403 and response.json()["code"] == "bad_download_link", bad
    admin.groups.clear()
    admin.is_superuser = False
    admin.save()
    assert APIClient().get(url).status_code == 403
