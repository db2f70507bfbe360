"""Pairwise campaigns: pairs of one prompt's videos served under the same leases, overlap, skip, gold and
idempotent submit as ratings, in a left/right order drawn per lease, recorded, and undone on submit."""
import uuid

import pytest
from django.db import IntegrityError, transaction

from annotation.models import Annotation, Assignment, Campaign, CampaignItem
from annotation.services.campaigns import campaign_add_pairs, campaign_add_videos
from lift.api_errors import ApplicationError
from tests.conftest import GOOD_RATINGS, submit, token_client
from tests.factories import CampaignFactory, PromptFactory, UserFactory, VideoFactory, add_member
from tests.pairs.util import DIMS, choices, pair_campaign, submit_choices


def _annotator(campaign):
    user = add_member(campaign, UserFactory(roles=["annotator"]))
    return user, token_client(user)


def _next(client, campaign):
    return client.post(f"/api/campaigns/{campaign.pk}/next-task/")


def test_admin_creates_a_pairwise_campaign_and_rating_stays_the_default(db):
    admin = token_client(UserFactory(roles=["admin"]))
    pairwise = admin.post("/api/campaigns/", {"name": "side by side", "kind": "pairwise"}, format="json")
    assert pairwise.status_code == 201 and pairwise.data["kind"] == "pairwise"
    rating = admin.post("/api/campaigns/", {"name": "one by one"}, format="json")
    assert rating.status_code == 201 and rating.data["kind"] == "rating"
    bad = admin.post("/api/campaigns/", {"name": "odd", "kind": "triplet"}, format="json")
    assert bad.status_code == 400 and "kind" in bad.json()["fields"]
    assert Campaign.objects.count() == 2


def test_pairs_are_two_videos_of_one_prompt_once_per_campaign_in_either_order(db):
    campaign, items = pair_campaign(pairs=1)
    item = items[0]
    assert campaign_add_pairs(campaign=campaign, pairs=[(item.video_b_id, item.video_id)])[0].pk == item.pk
    assert CampaignItem.objects.filter(campaign=campaign).count() == 1
    other_prompt = VideoFactory()
    unknown = 10**9
    for pair, problem in [((item.video_id, item.video_id), "two different videos"),
                          ((item.video_id, other_prompt.pk), "same prompt"),
                          ((item.video_id, unknown), "unknown video")]:
        with pytest.raises(ApplicationError) as refused:
            campaign_add_pairs(campaign=campaign, pairs=[pair])
        assert problem in refused.value.message
    with pytest.raises(ApplicationError) as refused:
        campaign_add_videos(campaign=campaign, video_ids=[item.video_id])
    assert refused.value.code == "wrong_campaign_kind"
    with pytest.raises(ApplicationError) as refused:
        campaign_add_pairs(campaign=CampaignFactory(), pairs=[(item.video_id, item.video_b_id)])
    assert refused.value.code == "wrong_campaign_kind"
    # The database holds the same line for writes that bypass the service.
    with pytest.raises(IntegrityError), transaction.atomic():
        CampaignItem.objects.create(campaign=campaign, video_id=item.video_b_id, video_b_id=item.video_id)
    with pytest.raises(IntegrityError), transaction.atomic():
        CampaignItem.objects.create(campaign=campaign, video_id=item.video_id, video_b_id=item.video_id)
    assert CampaignItem.objects.filter(campaign=campaign).count() == 1


def test_items_api_takes_pairs_for_a_pairwise_campaign(db):
    campaign, _ = pair_campaign(pairs=0)
    admin = token_client(UserFactory(roles=["admin"]))
    prompt = PromptFactory()
    a, b, c = (VideoFactory(prompt=prompt, seed=seed).pk for seed in range(3))
    added = admin.post(f"/api/campaigns/{campaign.pk}/items/", {"pairs": [[a, b], [a, c], [b, a]]}, format="json")
    assert added.status_code == 201 and added.data["items"] == 2
    wrong = admin.post(f"/api/campaigns/{campaign.pk}/items/", {"video_ids": [a]}, format="json")
    assert wrong.status_code == 400 and wrong.json()["code"] == "wrong_campaign_kind"
    mixed = admin.post(f"/api/campaigns/{campaign.pk}/items/", {"video_ids": [a], "pairs": [[a, b]]}, format="json")
    assert mixed.status_code == 400


def test_next_task_shows_both_videos_in_the_recorded_order(db):
    campaign, items = pair_campaign(pairs=1)
    _, client = _annotator(campaign)
    response = _next(client, campaign)
    assert response.status_code == 200 and response.data["kind"] == "pairwise"
    assignment = Assignment.objects.get(pk=response.data["id"])
    item = items[0]
    expected = (item.video_id, item.video_b_id) if assignment.shown_order == "AB" else (item.video_b_id, item.video_id)
    pair = response.data["pair"]
    assert (pair["left"]["id"], pair["right"]["id"]) == expected
    assert response.data["video"]["id"] == expected[0]  # the left one, for clients that show one video
    assert _next(client, campaign).data["pair"] == pair  # the live lease comes back in the same order


def test_both_videos_of_the_next_pair_are_named_for_prefetching(db):
    campaign, items = pair_campaign(pairs=2)
    _, client = _annotator(campaign)
    lease = _next(client, campaign).data
    upcoming = next(item for item in items if item.pk != Assignment.objects.get(pk=lease["id"]).item_id)
    assert lease["prefetch_urls"] == [upcoming.video.file.url, upcoming.video_b.file.url]
    assert lease["prefetch_url"] == upcoming.video.file.url


def test_rating_tasks_have_no_pair_and_no_order(people):
    response = _next(token_client(people["annotator"]), people["campaign"])
    assert response.data["kind"] == "rating" and response.data["pair"] is None
    assert Assignment.objects.get(pk=response.data["id"]).shown_order == ""


def test_the_order_is_drawn_per_lease(db):
    campaign, _ = pair_campaign(pairs=40, overlap=1)
    _, client = _annotator(campaign)
    for _ in range(40):
        lease = _next(client, campaign).data
        assert submit_choices(client, lease["id"], choices("tie")).status_code == 201
    orders = list(Assignment.objects.filter(campaign=campaign).values_list("shown_order", flat=True))
    assert set(orders) == {"AB", "BA"}  # chance of one order 40 times: 2 in a trillion


@pytest.mark.parametrize("order", ["AB", "BA"])
def test_the_choice_is_stored_as_a_or_b_of_the_item(db, order):
    campaign, _ = pair_campaign(pairs=1)
    _, client = _annotator(campaign)
    lease = _next(client, campaign).data
    Assignment.objects.filter(pk=lease["id"]).update(shown_order=order)  # the draw, fixed for the test
    response = submit_choices(client, lease["id"], choices(semantic="left", motion="right", fidelity="tie"))
    assert response.status_code == 201
    stored = Annotation.objects.get(pk=response.data["id"]).ratings
    left, right = order[0], order[1]
    assert {dim: stored[dim]["choice"] for dim in DIMS} == {"semantic": left, "motion": right, "fidelity": "tie"}
    assert stored["semantic"]["rationale"] == "left looks better here."
    assert response.data["ratings"] == stored


def test_submit_is_idempotent_and_the_lease_closes(db):
    campaign, _ = pair_campaign(pairs=1)
    _, client = _annotator(campaign)
    lease = _next(client, campaign).data
    key = str(uuid.uuid4())
    first = submit_choices(client, lease["id"], key=key)
    again = submit_choices(client, lease["id"], key=key)
    assert (first.status_code, again.status_code) == (201, 200) and again.data == first.data
    other = submit_choices(client, lease["id"], choices("right"), key=key)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert submit_choices(client, lease["id"]).status_code == 409  # a new key: already submitted
    assert Annotation.objects.count() == 1 and Assignment.objects.get(pk=lease["id"]).state == "submitted"
    assert CampaignItem.objects.get(campaign=campaign).annotations_done == 1


def test_submit_with_next_leases_the_next_pair(db):
    campaign, _ = pair_campaign(pairs=2)
    _, client = _annotator(campaign)
    lease = _next(client, campaign).data
    response = submit_choices(client, lease["id"], next=True)
    assert response.status_code == 201 and response.data["next_state"] == "leased"
    assert response.data["next"]["pair"] is not None and response.data["next"]["id"] != lease["id"]


def _nothing_written(campaign, lease_id):
    assignment = Assignment.objects.get(pk=lease_id)
    assert Annotation.objects.count() == 0 and assignment.state == "leased"
    assert CampaignItem.objects.get(pk=assignment.item_id).annotations_done == 0


def test_ratings_sent_to_a_pairwise_campaign_are_refused_and_nothing_is_written(db):
    campaign, _ = pair_campaign(pairs=1)
    _, client = _annotator(campaign)
    lease = _next(client, campaign).data
    response = submit(client, lease["id"], ratings=GOOD_RATINGS)
    assert response.status_code == 400
    assert response.json()["code"] == "wrong_payload_kind" and "choices" in response.json()["detail"]
    _nothing_written(campaign, lease["id"])
    assert submit_choices(client, lease["id"]).status_code == 201  # the lease is still good


def test_choices_sent_to_a_rating_campaign_are_refused_and_nothing_is_written(people):
    client = token_client(people["annotator"])
    lease = _next(client, people["campaign"]).data
    response = submit_choices(client, lease["id"])
    assert response.status_code == 400 and response.json()["code"] == "wrong_payload_kind"
    both = client.post(f"/api/assignments/{lease['id']}/submit/", {"ratings": GOOD_RATINGS, "choices": choices()},
                       format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert both.status_code == 400 and both.json()["code"] == "wrong_payload_kind"
    _nothing_written(people["campaign"], lease["id"])


@pytest.mark.parametrize("body, field", [
    ({"semantic": {"choice": "left", "rationale": "x"}}, "motion"),
    ({**choices(), "colour": {"choice": "left", "rationale": "x"}}, "colour"),
    ({**choices(), "motion": {"choice": "A", "rationale": "x"}}, "motion"),  # annotators answer by side
    ({**choices(), "motion": {"choice": "left", "rationale": "  "}}, "motion"),
    ({**choices(), "motion": "left"}, "motion"),
])
def test_bad_choices_name_the_dimension(db, body, field):
    campaign, _ = pair_campaign(pairs=1)
    _, client = _annotator(campaign)
    lease = _next(client, campaign).data
    response = submit_choices(client, lease["id"], body)
    assert response.status_code == 400 and response.json()["code"] == "invalid_choices"
    assert field in response.json()["fields"]["choices"]
    _nothing_written(campaign, lease["id"])


def test_rationale_policy_unless_good_lets_a_tie_go_without_a_reason(db):
    campaign, _ = pair_campaign(pairs=1, rationale_policy="unless_good")
    _, client = _annotator(campaign)
    lease = _next(client, campaign).data
    bare = {dim: {"choice": "tie"} for dim in DIMS}
    assert submit_choices(client, lease["id"], {**bare, "motion": {"choice": "left"}}).status_code == 400
    assert submit_choices(client, lease["id"], bare).status_code == 201


def test_overlap_and_skip_work_as_for_ratings(db):
    campaign, _ = pair_campaign(pairs=1, overlap=2)
    clients = [_annotator(campaign)[1] for _ in range(3)]
    first, second = _next(clients[0], campaign), _next(clients[1], campaign)
    assert first.status_code == second.status_code == 200
    assert _next(clients[2], campaign).status_code == 204  # two slots, both taken
    skipped = clients[1].post(f"/api/assignments/{second.data['id']}/skip/", {"reason": "Both are black."},
                              format="json")
    assert skipped.status_code == 200
    third = _next(clients[2], campaign)
    assert third.status_code == 200 and third.data["pair"] is not None
    assert _next(clients[1], campaign).status_code == 204  # never the pair they skipped


def test_gold_pairs_are_served_at_the_gold_rate(db):
    campaign, items = pair_campaign(pairs=3, gold={"semantic": "A", "motion": "tie", "fidelity": "B"}, gold_rate=0.5)
    assert items[0].gold_answer == {"semantic": "A", "motion": "tie", "fidelity": "B"}
    _, client = _annotator(campaign)
    lease = _next(client, campaign).data
    assert Assignment.objects.get(pk=lease["id"]).item_id == items[0].pk


def test_gold_answers_of_pairs_are_checked(db):
    campaign, _ = pair_campaign(pairs=0)
    prompt = PromptFactory()
    a, b = VideoFactory(prompt=prompt).pk, VideoFactory(prompt=prompt).pk
    with pytest.raises(ApplicationError) as refused:
        campaign_add_pairs(campaign=campaign, pairs=[(a, b)], gold_answers={(a, b): {"semantic": "Good"}})
    assert "A, tie, B" in refused.value.message and not CampaignItem.objects.exists()


def test_members_may_fetch_both_videos_and_outsiders_neither(db, settings):
    campaign, items = pair_campaign(pairs=1)
    member, client = _annotator(campaign)
    outsider = token_client(UserFactory(roles=["annotator"]))
    for video in (items[0].video, items[0].video_b):
        path = settings.MEDIA_ROOT / video.file.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * 100)
        assert client.get(f"/media/{video.file.name}").status_code == 200
        assert outsider.get(f"/media/{video.file.name}").status_code == 404


def test_a_reviewer_corrects_a_pair_in_a_and_b(db):
    campaign, _ = pair_campaign(pairs=1)
    _, client = _annotator(campaign)
    reviewer = add_member(campaign, UserFactory(roles=["reviewer"]))
    lease = _next(client, campaign).data
    annotation_id = submit_choices(client, lease["id"]).data["id"]
    corrected = {dim: {"choice": "B", "rationale": "B is clearly sharper."} for dim in DIMS}
    review = token_client(reviewer).post(f"/api/annotations/{annotation_id}/review/",
                                         {"action": "correct", "ratings": corrected, "reason": "Looked again."},
                                         format="json")
    assert review.status_code == 201, review.json()
    assert Annotation.objects.get(pk=annotation_id).corrected_ratings == corrected
    sided = {dim: {"choice": "left", "rationale": "Left one."} for dim in DIMS}
    refused = token_client(reviewer).post(f"/api/annotations/{annotation_id}/review/",
                                          {"action": "correct", "ratings": sided, "reason": "Again."}, format="json")
    assert refused.status_code == 400
