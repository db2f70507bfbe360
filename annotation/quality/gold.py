"""Gold items: items with a known answer (CampaignItem.gold_answer), served like any other item.

Annotators cannot tell them apart; the leasing service asks `gold_preference` whether this
annotator is due one so that gold makes up about `campaign.gold_rate` of what each person is served.
"""
from ..models import Assignment, Campaign


def gold_preference(*, campaign: Campaign, annotator) -> bool | None:
    """True: serve a gold item next if one is open; False: prefer an ordinary one; None: no preference."""
    if not campaign.gold_rate:
        return None
    served = Assignment.objects.filter(campaign=campaign, annotator=annotator).exclude(state=Assignment.State.SKIPPED)
    total = served.count()
    gold = served.filter(item__gold_answer__isnull=False).count()
    return gold < campaign.gold_rate * (total + 1)
