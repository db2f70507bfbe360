"""Campaign PATCH takes task order, gold rate, consensus method and quality thresholds, refusing bad values."""
import pytest

from annotation.models import Campaign
from tests.conftest import token_client


def _patch(people, body, role="admin"):
    return token_client(people[role]).patch(f"/api/campaigns/{people['campaign'].pk}/", body, format="json")


def test_admin_sets_active_learning_and_quality_settings(people):
    response = _patch(people, {"task_order": "uncertainty", "gold_rate": 0.1, "consensus_method": "dawid_skene",
                               "quality_settings": {"min_time_ms": 3000, "gold_min_accuracy": 0.7}})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["task_order"], body["gold_rate"], body["consensus_method"]) == ("uncertainty", 0.1, "dawid_skene")
    campaign = Campaign.objects.get(pk=people["campaign"].pk)
    assert campaign.task_order == "uncertainty" and campaign.quality_settings == {"min_time_ms": 3000,
                                                                                 "gold_min_accuracy": 0.7}
    seen_by_annotator = token_client(people["annotator"]).get(f"/api/campaigns/{campaign.pk}/").json()
    assert "quality_settings" not in seen_by_annotator and "gold_rate" not in seen_by_annotator


@pytest.mark.parametrize("body, field", [
    ({"task_order": "random"}, "task_order"),
    ({"gold_rate": 1.0}, "gold_rate"),
    ({"gold_rate": -0.1}, "gold_rate"),
    ({"gold_rate": "often"}, "gold_rate"),
    ({"consensus_method": "vote"}, "consensus_method"),
    ({"quality_settings": {"min_speed": 3}}, "quality_settings"),
    ({"quality_settings": {"min_time_ms": -1}}, "quality_settings"),
    ({"quality_settings": {"duplicate_jaccard": 1.5}}, "quality_settings"),
    ({"quality_settings": {"min_time_ms": "slow"}}, "quality_settings"),
    ({"quality_settings": [1, 2]}, "quality_settings"),
])
def test_bad_values_are_refused_and_nothing_changes(people, body, field):
    response = _patch(people, {"guidelines": "changed", **body})
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    campaign = Campaign.objects.get(pk=people["campaign"].pk)
    assert campaign.guidelines != "changed" and campaign.task_order == "priority"
    assert campaign.gold_rate == 0.0 and campaign.quality_settings == {}


def test_only_admins_change_settings(people):
    assert _patch(people, {"task_order": "uncertainty"}, role="reviewer").status_code == 403
