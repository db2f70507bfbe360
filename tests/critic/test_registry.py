"""Critic promotion through the API: better on the same test split, or forced with a reason; rollback."""
from alignment.models import ModelVersion, PromotionEvent
from alignment.services.registry import version_register
from tests.conftest import token_client
from tests.factories import UserFactory

SPLIT_A = {"snapshot": 1, "number": 1, "sha256": "a" * 64}
SPLIT_B = {"snapshot": 2, "number": 2, "sha256": "b" * 64}


def _critic(name, accuracy, split=SPLIT_A):
    return version_register(kind="critic", name=name, base="/models/critic",
                            metrics={"mean_accuracy": accuracy, "test_split": split})


def _promote(client, version, **body):
    return client.post(f"/api/models/{version.pk}/promote/", body, format="json")


def _active():
    return ModelVersion.objects.get(kind="critic", is_active=True)


def test_promotion_compares_mean_accuracy_on_the_same_test_split_and_rolls_back(db):
    admin = token_client(UserFactory(roles=["admin"]))
    first, worse, better, elsewhere = (_critic("first", 0.70), _critic("worse", 0.65), _critic("better", 0.80),
                                       _critic("elsewhere", 0.95, SPLIT_B))
    assert _promote(admin, first).status_code == 200 and _active() == first
    refused = _promote(admin, worse)
    assert refused.status_code == 409 and "0.650 is below" in refused.json()["detail"]
    other_split = _promote(admin, elsewhere)  # higher, but on other test rows, where first was not measured
    assert other_split.status_code == 409 and "another split" in other_split.json()["detail"]
    assert _active() == first
    # Measured on elsewhere's split, first does better there: still refused, on the same rows this time.
    elsewhere.metrics["active_on_this_split"] = {str(first.pk): {"mean_accuracy": 0.97}}
    elsewhere.save()
    same_rows = _promote(admin, elsewhere)
    assert same_rows.status_code == 409 and "below the active critic's 0.970 on this critic's test split" in same_rows.json()["detail"]
    assert _promote(admin, better).status_code == 200 and _active() == better
    elsewhere.metrics["active_on_this_split"] = {str(better.pk): {"mean_accuracy": 0.90}}
    elsewhere.save()
    assert _promote(admin, elsewhere).status_code == 200 and _active() == elsewhere  # 0.95 > 0.90 on its rows

    no_reason = _promote(admin, first, force=True)
    assert no_reason.status_code == 400 and _active() == elsewhere
    rollback = _promote(admin, first, force=True, reason="elsewhere regressed on the new campaign")
    assert rollback.status_code == 200 and _active() == first
    event = PromotionEvent.objects.filter(version=first).latest("at")
    assert event.forced and event.previous == elsewhere and "regressed" in event.reason
    assert ModelVersion.objects.filter(kind="critic", is_active=True).count() == 1


def test_only_admins_promote(db):
    version = _critic("first", 0.7)
    reviewer = token_client(UserFactory(roles=["reviewer"]))
    assert _promote(reviewer, version).status_code == 403
    assert not ModelVersion.objects.filter(is_active=True).exists()
