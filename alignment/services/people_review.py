"""People's review of a challenger generator: their ratings of its videos beside the active generator's, or their
side-by-side comparisons of the two, paired by prompt and seed, decide whether it is promoted.

The critic's held-out reward is the quick gate, but a critic judges videos unlike any it learnt from when it
scores an aligned generator (bench/RESULTS.md 5), so a loop may instead leave the aligned generator waiting
(`ModelVersion.awaiting_review`), have the next round rate both generators' videos of the same prompts and seeds,
and let the next loop decide on those ratings (loop setting `generator_gate: "people"`; with "critic_first" only
a generator the critic refuses waits for them).
"""
import math
import statistics
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from annotation.quality.tables import effective_ratings
from annotation.snapshots.export import annotations_selected

from ..engine.critic.questions import RATING_REWARDS
from ..models import ModelVersion
from .registry import version_promote

# Fewer rated pairs than this and the review waits for more ratings.
MIN_PAIRS = 8


def _video_rewards(*, version: ModelVersion, review_states: list[str], campaign_ids: list[int]) -> dict:
    """(prompt, seed) -> (mean reward over the video's ratings, {dimension: mean reward}) for the version's videos."""
    annotations = annotations_selected({"review_states": review_states, "campaign_ids": campaign_ids}).filter(
        item__video_b__isnull=True,  # ratings, not pairwise choices
        item__video__generator=f"generator:{version.pk}",
        item__video__prompt__isnull=False, item__video__seed__isnull=False)
    per_video: dict[tuple, list[dict]] = defaultdict(list)
    for prompt, seed, ratings, corrected in annotations.values_list(
            "item__video__prompt_id", "item__video__seed", "ratings", "corrected_ratings").iterator(chunk_size=5000):
        rewards = {dim: RATING_REWARDS[value["rating"]] for dim, value in effective_ratings(ratings, corrected).items()
                   if isinstance(value, dict) and value.get("rating") in RATING_REWARDS}
        if rewards:
            per_video[(prompt, seed)].append(rewards)
    out = {}
    for key, rows in per_video.items():
        dims = sorted({dim for row in rows for dim in row})
        per_dim = {dim: statistics.fmean(row[dim] for row in rows if dim in row) for dim in dims}
        out[key] = (statistics.fmean(statistics.fmean(row.values()) for row in rows), per_dim)
    return out


def _rating_leads(*, challenger, incumbent, review_states, campaign_ids) -> tuple[dict, dict]:
    """(prompt, seed) -> the challenger's lead in people's mean reward over the incumbent's video of the same
    prompt and seed, rated on their own; and the mean lead per dimension."""
    mine = _video_rewards(version=challenger, review_states=review_states, campaign_ids=campaign_ids)
    theirs = _video_rewards(version=incumbent, review_states=review_states, campaign_ids=campaign_ids)
    shared = sorted(set(mine) & set(theirs))
    dims = sorted({d for k in shared for d in mine[k][1]} & {d for k in shared for d in theirs[k][1]})
    per_dim = {dim: round(statistics.fmean(mine[k][1][dim] - theirs[k][1][dim] for k in shared
                                           if dim in mine[k][1] and dim in theirs[k][1]), 4) for dim in dims}
    return {key: mine[key][0] - theirs[key][0] for key in shared}, per_dim


def _comparison_leads(*, challenger, incumbent, review_states, campaign_ids) -> tuple[dict, dict]:
    """(prompt, seed) -> people's preference for the challenger in pairwise items that put its video beside the
    incumbent's of the same prompt and seed: +1 a dimension chosen for it, -1 against it, 0 a tie, averaged over
    dimensions and people; and the mean preference per dimension."""
    mine, theirs = f"generator:{challenger.pk}", f"generator:{incumbent.pk}"
    annotations = annotations_selected({"review_states": review_states, "campaign_ids": campaign_ids}).filter(
        Q(item__video__generator=mine, item__video_b__generator=theirs)
        | Q(item__video__generator=theirs, item__video_b__generator=mine),
        item__video__prompt_id=F("item__video_b__prompt_id"), item__video__seed=F("item__video_b__seed"))
    per_pair, per_dim = defaultdict(list), defaultdict(list)
    for prompt, seed, a_made_by, choices, corrected in annotations.values_list(
            "item__video__prompt_id", "item__video__seed", "item__video__generator", "ratings",
            "corrected_ratings").iterator(chunk_size=5000):
        sign = 1 if a_made_by == mine else -1
        votes = {dim: {"A": sign, "B": -sign, "tie": 0}[entry["choice"]]
                 for dim, entry in effective_ratings(choices, corrected).items()
                 if isinstance(entry, dict) and entry.get("choice") in ("A", "B", "tie")}
        if votes:
            per_pair[(prompt, seed)].append(statistics.fmean(votes.values()))
            for dim, vote in votes.items():
                per_dim[dim].append(vote)
    return ({key: statistics.fmean(values) for key, values in per_pair.items()},
            {dim: round(statistics.fmean(values), 4) for dim, values in sorted(per_dim.items())})


def generator_review(*, challenger: ModelVersion, incumbent: ModelVersion, review_states: list[str],
                     campaign_ids: list[int] | None = None, min_pairs: int = MIN_PAIRS) -> dict:
    """The challenger's lead over the incumbent per (prompt, seed) both made, and the verdict: "promote" when the
    mean lead is more than PROMOTION_MIN_SE standard errors above zero, "retire" when it is not, "wait" below
    `min_pairs` pairs. The evidence is people's side-by-side comparisons of the two videos where there are
    `min_pairs` such pairs (a direct A/B), else their ratings of each video on its own."""
    found = {"comparisons": _comparison_leads(challenger=challenger, incumbent=incumbent, review_states=review_states,
                                              campaign_ids=campaign_ids or []),
             "ratings": _rating_leads(challenger=challenger, incumbent=incumbent, review_states=review_states,
                                      campaign_ids=campaign_ids or [])}
    review = {"challenger": challenger.pk, "incumbent": incumbent.pk, "min_pairs": min_pairs,
              "pairs": {what: len(leads) for what, (leads, _) in found.items()}}
    evidence = next((what for what, (leads, _) in found.items() if len(leads) >= max(min_pairs, 2)), None)
    if evidence is None:
        return {**review, "verdict": "wait",
                "reason": f"{review['pairs']['ratings']} prompt-and-seed pairs rated and {review['pairs']['comparisons']} "
                          f"compared on both generators; the review needs {min_pairs}."}
    leads, per_dim = found[evidence]
    values = list(leads.values())
    lead, error = statistics.fmean(values), statistics.stdev(values) / math.sqrt(len(values))
    required = settings.LIFT["PROMOTION_MIN_SE"]
    better = lead > required * error if required > 0 else lead > 0
    unit = "mean reward" if evidence == "ratings" else "preference (−1 to 1)"
    return {**review, "evidence": evidence, "lead": round(lead, 5), "standard_error": round(error, 5),
            "dimensions": per_dim, "verdict": "promote" if better else "retire",
            "reason": (f"people's {evidence} on {len(values)} prompt-and-seed pairs: lead in {unit} {lead:+.4f} ± "
                       f"{error:.4f}, {'more' if better else 'not more'} than {required:g} standard errors above zero")}


def review_waiting_generator(*, review_states: list[str], campaign_ids: list[int] | None = None, by=None) -> dict:
    """Decide on the generator awaiting review (the newest; older ones were superseded by it): promote it over
    the active generator, retire it, or leave it waiting. Returns the review, or {"verdict": "none"}."""
    with transaction.atomic():
        waiting = list(ModelVersion.objects.select_for_update()
                       .filter(kind=ModelVersion.Kind.GENERATOR, awaiting_review=True).order_by("-pk"))
        if not waiting:
            return {"verdict": "none", "reason": "no generator awaits people's review"}
        challenger, superseded = waiting[0], waiting[1:]
        ModelVersion.objects.filter(pk__in=[v.pk for v in superseded]).update(awaiting_review=False)
        incumbent = ModelVersion.objects.filter(kind=ModelVersion.Kind.GENERATOR, is_active=True).first()
        if incumbent is None:
            return {"verdict": "wait", "challenger": challenger.pk,
                    "reason": "there is no active generator to compare it with"}
        if incumbent.pk == challenger.pk:  # promoted by hand meanwhile
            ModelVersion.objects.filter(pk=challenger.pk).update(awaiting_review=False)
            return {"verdict": "none", "challenger": challenger.pk, "reason": "it is already the active generator"}
        review = generator_review(challenger=challenger, incumbent=incumbent, review_states=review_states,
                                  campaign_ids=campaign_ids)
        if review["verdict"] == "wait":
            return review
        challenger.metrics = {**challenger.metrics, "people_review": review}
        challenger.awaiting_review = False
        challenger.save(update_fields=["metrics", "awaiting_review"])
        if review["verdict"] == "promote":  # the registry's rule takes people's verdict against this incumbent
            version_promote(version=challenger, by=by, reason=review["reason"])
        return review


def generator_await_review(*, version: ModelVersion) -> ModelVersion:
    """Leave an aligned generator for people to judge; a newer challenger supersedes an older one."""
    with transaction.atomic():
        ModelVersion.objects.filter(kind=ModelVersion.Kind.GENERATOR, awaiting_review=True).exclude(pk=version.pk) \
            .update(awaiting_review=False)
        ModelVersion.objects.filter(pk=version.pk).update(awaiting_review=True)
    version.refresh_from_db()
    return version
