"""Fuzzing our own OpenAPI schema with schemathesis, as a signed-in annotator and as an admin.

Every operation gets a bounded number of generated requests (valid and invalid), sent in-process to the
WSGI app on the test database. Each answer must: not be a 5xx; be JSON with a `detail` when it is a 4xx;
match the schema (body and content type) when it is a documented status.
"""
import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.conftest import token_client

EXAMPLES_PER_OPERATION = 6


def json_error_body(ctx, response, case):
    """Our contract for every 4xx: a JSON body {"detail": str, "code": str, ...}."""
    if 400 <= response.status_code < 500:
        try:
            body = response.json()
        except ValueError:
            raise AssertionError(f"{response.status_code} is not JSON: {response.text[:300]!r}") from None
        assert isinstance(body, dict) and isinstance(body.get("detail"), str) and body["detail"], (
            f"{response.status_code} without a JSON detail: {response.text[:300]}")
        assert isinstance(body.get("code"), str), f"{response.status_code} without a code: {response.text[:300]}"


CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, json_error_body]

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = get_wsgi_application()
# Logging out or revoking would take the fuzzer's own token away mid-run; those have their own tests.
schema = schema.exclude(path_regex=r"^/api/auth/logout/$").exclude(path_regex=r"revoke")

# Ids of the fuzz world's objects: half of the generated integer ids are pointed at them, so requests reach
# real rows and not only 404s.
REAL_IDS: dict[str, int] = {}


@schema.hook
def map_path_parameters(context, path_parameters):
    if not path_parameters:
        return path_parameters
    return {name: REAL_IDS[name] if name in REAL_IDS and isinstance(value, int) and value % 2 == 0 else value
            for name, value in path_parameters.items()}


@schema.hook
def map_body(context, body):
    # A draw of 10,000 prompts is allowed but takes ~8 s here; generated draws stay small (the fuzzer checks
    # answers, not speed), while the schema's boundary examples (count 10000) still run once each.
    if context.operation.path == "/api/prompts/combine/" and isinstance(body, dict):
        count = body.get("count")
        if isinstance(count, int) or (isinstance(count, str) and count.strip().isdigit()):
            body["count"] = min(int(count), 20)  # the API also takes digits as a string
    return body


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,  # the same requests on every run: a CI failure can be reproduced
    database=None,  # nothing written under .hypothesis/
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)


@pytest.fixture
def fuzz_world(db):
    """A campaign with items, a lease and an annotation of its annotator, a job, and an admin."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from alignment.models import Job
    from annotation.services import leasing, submissions
    from tests.conftest import GOOD_RATINGS
    from tests.factories import CampaignFactory, ItemFactory, UserFactory, add_member

    campaign = CampaignFactory(overlap=2)
    for _ in range(3):
        ItemFactory(campaign=campaign)
    annotator = add_member(campaign, UserFactory(roles=["annotator"]))
    done = leasing.campaign_next_task(campaign=campaign, annotator=annotator)
    annotation, _ = submissions.annotation_submit(assignment=done, annotator=annotator, ratings=GOOD_RATINGS,
                                                  time_spent_ms=500, idempotency_key="fuzz")
    lease = leasing.campaign_next_task(campaign=campaign, annotator=annotator)
    REAL_IDS.update(campaign_id=campaign.pk, assignment_id=lease.pk, annotation_id=annotation.pk,
                    job_id=Job.objects.create(kind="generate", dedupe_key="fuzz").pk)
    # As Django's test client does: the WSGI app must not close the test's connection (and its transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield {"annotator": annotator, "admin": UserFactory(roles=["admin"])}
    REAL_IDS.clear()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _token_header(user) -> dict:
    return {"Authorization": token_client(user)._credentials["HTTP_AUTHORIZATION"]}


def _fuzz(case, user):
    case.call_and_validate(headers=_token_header(user), checks=CHECKS)


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_as_annotator(case, fuzz_world):
    _fuzz(case, fuzz_world["annotator"])


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_as_admin(case, fuzz_world):
    _fuzz(case, fuzz_world["admin"])
