"""Annotations are never hard-deleted: withdraw / void are soft states with an append-only audit trail,
they leave consensus, the review queue and snapshots, and PostgreSQL itself refuses a DELETE."""
import pytest
from django.db import IntegrityError, transaction

from annotation.models import Annotation, AnnotationAudit, CampaignItem
from annotation.quality.review import review_queue
from annotation.quality.tables import campaign_records
from annotation.snapshots.export import annotations_selected
from tests.conftest import submit, token_client
from tests.factories import UserFactory, add_member

pytestmark = pytest.mark.django_db

# The only DELETE in the API; it removes a membership, and annotations are PROTECTed from cascades.
ALLOWED_DELETES = {"/api/campaigns/{campaign_id}/members/{username}/"}


def _annotate_via_api(user, campaign):
    client = token_client(user)
    lease = client.post(f"/api/campaigns/{campaign.pk}/next-task/")
    assert lease.status_code == 200
    done = submit(client, lease.json()["id"])
    assert done.status_code == 201
    return Annotation.objects.get(pk=done.json()["id"]), client


def test_withdraw_keeps_the_row_with_an_audit_entry_and_frees_the_slot(people):
    campaign, annotator = people["campaign"], people["annotator"]
    annotation, client = _annotate_via_api(annotator, campaign)
    item_before = CampaignItem.objects.get(pk=annotation.item_id)

    response = client.post(f"/api/annotations/{annotation.pk}/withdraw/", {"reason": "  Clicked Bad by mistake. "},
                           format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["actor"] == annotator.username and body["action"] == "withdraw"
    assert body["reason"] == "Clicked Bad by mistake."
    assert body["before"]["state"] == "active" and body["after"]["state"] == "withdrawn"
    assert body["before"]["ratings"] == annotation.ratings
    annotation.refresh_from_db()
    assert annotation.state == Annotation.State.WITHDRAWN and annotation.ratings  # nothing erased
    item = CampaignItem.objects.get(pk=annotation.item_id)
    assert (item.annotations_done, item.slots_taken) == (item_before.annotations_done - 1, item_before.slots_taken - 1)
    assert item.is_open
    # The annotator's own list still shows it, marked.
    listed = client.get(f"/api/campaigns/{campaign.pk}/annotations/").json()
    assert [(row["id"], row["state"]) for row in listed] == [(annotation.pk, "withdrawn")]
    # A retry of the submit with the same key answers with the same (withdrawn) row and creates nothing.
    assert Annotation.objects.count() == 1


def test_withdraw_is_refused_when_not_possible(people):
    campaign, annotator = people["campaign"], people["annotator"]
    annotation, client = _annotate_via_api(annotator, campaign)
    other = add_member(campaign, UserFactory(roles=["annotator"]))

    assert token_client(other).post(f"/api/annotations/{annotation.pk}/withdraw/", {"reason": "x"},
                                    format="json").status_code == 404
    no_reason = client.post(f"/api/annotations/{annotation.pk}/withdraw/", {"reason": "   "}, format="json")
    assert no_reason.status_code == 400 and no_reason.json()["fields"]
    reviewed = token_client(people["reviewer"]).post(f"/api/annotations/{annotation.pk}/review/",
                                                     {"action": "accept"}, format="json")
    assert reviewed.status_code == 201
    late = client.post(f"/api/annotations/{annotation.pk}/withdraw/", {"reason": "changed my mind"}, format="json")
    assert late.status_code == 409 and late.json()["code"] == "already_reviewed"
    assert Annotation.objects.get(pk=annotation.pk).state == "active"
    assert not AnnotationAudit.objects.exists()


def test_only_admins_void_and_a_voided_annotation_leaves_quality_review_and_snapshots(people):
    campaign, annotator, admin = people["campaign"], people["annotator"], people["admin"]
    annotation, client = _annotate_via_api(annotator, campaign)
    kept, _ = _annotate_via_api(annotator, campaign)
    url = f"/api/annotations/{annotation.pk}/void/"

    assert client.post(url, {"reason": "spam"}, format="json").status_code == 403
    assert token_client(people["reviewer"]).post(url, {"reason": "spam"}, format="json").status_code == 403
    response = token_client(admin).post(url, {"reason": "Spammer: 40 tasks in 2 minutes."}, format="json")
    assert response.status_code == 201 and response.json()["after"]["state"] == "voided"
    assert token_client(admin).post(url, {"reason": "again"}, format="json").status_code == 409

    assert [r.id for r in campaign_records(campaign=campaign)] == [kept.pk]
    assert [row["annotation_id"] for row in review_queue(campaign=campaign)] == [kept.pk]
    selected = annotations_selected({"campaign_ids": [campaign.pk], "review_states": ["pending", "accepted", "corrected"]})
    assert list(selected.values_list("id", flat=True)) == [kept.pk]
    refused = token_client(people["reviewer"]).post(f"/api/annotations/{annotation.pk}/review/",
                                                    {"action": "accept"}, format="json")
    assert refused.status_code == 409
    trail = token_client(people["reviewer"]).get(f"/api/annotations/{annotation.pk}/audit/")
    assert trail.status_code == 200
    assert [(e["actor"], e["action"]) for e in trail.json()] == [(admin.username, "void")]
    assert client.get(f"/api/annotations/{annotation.pk}/audit/").status_code == 403


def test_postgresql_refuses_deleting_annotations_and_rewriting_the_audit(people):
    annotation, _ = _annotate_via_api(people["annotator"], people["campaign"])
    with pytest.raises(IntegrityError, match="refused"), transaction.atomic():
        Annotation.objects.filter(pk=annotation.pk).delete()
    token_client(people["admin"]).post(f"/api/annotations/{annotation.pk}/void/", {"reason": "test"}, format="json")
    with pytest.raises(IntegrityError, match="refused"), transaction.atomic():
        AnnotationAudit.objects.update(reason="rewritten")
    with pytest.raises(IntegrityError, match="refused"), transaction.atomic():
        AnnotationAudit.objects.all().delete()
    assert Annotation.objects.filter(pk=annotation.pk).exists()


def test_no_api_operation_deletes_annotations(admin_client):
    schema = admin_client.get("/api/schema/?format=json").json()
    deletes = {path for path, operations in schema["paths"].items() if "delete" in operations}
    # A new DELETE endpoint must be looked at here: annotations are withdrawn or voided, never deleted.
    assert deletes == ALLOWED_DELETES
