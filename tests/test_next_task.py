"""next-task: leases by priority then fewest annotations, never beyond overlap, never twice to one person."""
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from annotation.models import Annotation, Assignment, CampaignItem
from annotation.services.leasing import campaign_next_task
from annotation.services.submissions import annotation_submit
from tests.conftest import GOOD_RATINGS, submit, token_client
from tests.factories import CampaignFactory, ItemFactory, UserFactory, add_member


def test_serves_by_priority_then_fewest_annotations(db):
    campaign = CampaignFactory(overlap=3)
    low = ItemFactory(campaign=campaign, priority=0)
    high = ItemFactory(campaign=campaign, priority=5)
    busy = ItemFactory(campaign=campaign, priority=0, annotations_done=2, slots_taken=2)
    first = add_member(campaign, UserFactory())
    assert campaign_next_task(campaign=campaign, annotator=first).item == high
    second = add_member(campaign, UserFactory())
    assert campaign_next_task(campaign=campaign, annotator=second).item == high
    third = add_member(campaign, UserFactory())
    assert campaign_next_task(campaign=campaign, annotator=third).item == high
    fourth = add_member(campaign, UserFactory())
    # high is full (overlap 3); low has fewer annotations than busy
    assert campaign_next_task(campaign=campaign, annotator=fourth).item == low
    assert busy.pk  # busy is served last


def test_same_live_lease_comes_back(db):
    campaign = CampaignFactory()
    ItemFactory.create_batch(3, campaign=campaign)
    user = add_member(campaign, UserFactory())
    first = campaign_next_task(campaign=campaign, annotator=user)
    again = campaign_next_task(campaign=campaign, annotator=user)
    assert first.pk == again.pk
    assert Assignment.objects.filter(annotator=user, state="leased").count() == 1


def test_never_an_item_already_annotated_or_skipped_and_204_when_done(people):
    client = token_client(people["annotator"])
    url = f"/api/campaigns/{people['campaign'].pk}/next-task/"
    seen = []
    first = client.post(url)
    assert first.status_code == 200
    seen.append(first.data["video"]["id"])
    assert submit(client, first.data["id"]).status_code == 201
    second = client.post(url)
    seen.append(second.data["video"]["id"])
    assert client.post(f"/api/assignments/{second.data['id']}/skip/", {"reason": "cannot load"}, format="json").status_code == 200
    third = client.post(url)
    seen.append(third.data["video"]["id"])
    assert submit(client, third.data["id"]).status_code == 201
    assert len(set(seen)) == 3
    assert client.post(url).status_code == 204


def test_expired_leases_return_to_the_pool(db):
    campaign = CampaignFactory(overlap=1)
    item = ItemFactory(campaign=campaign)
    alice, bob = add_member(campaign, UserFactory()), add_member(campaign, UserFactory())
    lease = campaign_next_task(campaign=campaign, annotator=alice)
    assert campaign_next_task(campaign=campaign, annotator=bob) is None
    Assignment.objects.filter(pk=lease.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    bobs = campaign_next_task(campaign=campaign, annotator=bob)
    assert bobs is not None and bobs.item_id == item.pk
    assert Assignment.objects.get(pk=lease.pk).state == "expired"
    item.refresh_from_db()
    assert item.slots_taken == 1 and item.is_open is False


def test_skip_frees_the_slot_for_others(db):
    campaign = CampaignFactory(overlap=1)
    ItemFactory(campaign=campaign)
    alice, bob = add_member(campaign, UserFactory()), add_member(campaign, UserFactory())
    from annotation.services.leasing import assignment_skip

    assignment_skip(assignment=campaign_next_task(campaign=campaign, annotator=alice), reason="blank video")
    assert campaign_next_task(campaign=campaign, annotator=bob) is not None
    assert campaign_next_task(campaign=campaign, annotator=alice) is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_annotators_never_exceed_overlap_or_repeat():
    """Many threads lease and submit at once: no item beyond k, nobody served an item twice."""
    overlap, n_items, n_workers = 2, 12, 8
    campaign = CampaignFactory(overlap=overlap)
    ItemFactory.create_batch(n_items, campaign=campaign)
    workers = [add_member(campaign, UserFactory()) for _ in range(n_workers)]
    errors = []
    barrier = threading.Barrier(n_workers)

    def work(user):
        try:
            barrier.wait()
            for step in range(n_items):
                assignment = campaign_next_task(campaign=campaign, annotator=user)
                if assignment is None:
                    break
                annotation_submit(assignment=assignment, annotator=user, ratings=GOOD_RATINGS,
                                  time_spent_ms=10, idempotency_key=f"{user.pk}-{step}")
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(user,)) for user in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    per_item = Counter(Annotation.objects.filter(campaign=campaign).values_list("item_id", flat=True))
    assert max(per_item.values()) <= overlap
    assert sum(per_item.values()) == overlap * n_items  # every slot was filled, none lost
    pairs = list(Annotation.objects.filter(campaign=campaign).values_list("item_id", "annotator_id"))
    assert len(pairs) == len(set(pairs))
    for item in CampaignItem.objects.filter(campaign=campaign):
        assert item.slots_taken == item.annotations_done == overlap and not item.is_open


def _next_tasks_at_once(campaign, users):
    """next-task for each user, all released together from a barrier; the leases (or None) in any order."""
    leases, barrier = [], threading.Barrier(len(users))

    def ask(user):
        try:
            barrier.wait()
            leases.append(campaign_next_task(campaign=campaign, annotator=user))
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(user,)) for user in users]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return leases


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_of_one_annotator_get_one_lease():
    campaign = CampaignFactory(overlap=3)
    ItemFactory.create_batch(5, campaign=campaign)
    user = add_member(campaign, UserFactory())
    leases = _next_tasks_at_once(campaign, [user] * 6)
    results = [lease.pk if lease else None for lease in leases]
    # Every call answers with the same lease; none is told "nothing left" while items are open.
    assert len(results) == 6 and len(set(results)) == 1 and results[0] is not None
    assert Assignment.objects.filter(annotator=user).count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_annotators_on_the_last_open_item_all_get_a_slot_not_an_empty_campaign():
    campaign = CampaignFactory(overlap=4)
    item = ItemFactory(campaign=campaign)
    users = [add_member(campaign, UserFactory()) for _ in range(4)]
    results = [lease.item_id if lease else None for lease in _next_tasks_at_once(campaign, users)]
    # The row locked by one lease in flight is skipped by the others' first look, not taken for "done".
    assert sorted(results) == [item.pk] * 4
    item.refresh_from_db()
    assert item.slots_taken == 4 and not item.is_open
