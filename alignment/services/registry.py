"""The model registry: registering generator and critic versions, which one of each is active, and the
rules for changing that. (Which one is active now: `selectors.active_version`.)"""
import math

from django.conf import settings
from django.db import transaction

from lift.api_errors import ApplicationError, Conflict

from ..models import ModelVersion, PromotionEvent
from ..selectors import is_preference_critic
from .active_learning import on_critic_promoted


def version_register(*, kind: str, name: str, base: str, config: dict | None = None, adapter_path: str = "",
                     parent: ModelVersion | None = None, lineage: dict | None = None, metrics: dict | None = None,
                     created_by_job=None) -> ModelVersion:
    """Idempotent by (kind, name): registering the same version twice returns the first row."""
    if kind not in ModelVersion.Kind.values:
        raise ApplicationError(f"kind must be one of {', '.join(ModelVersion.Kind.values)}.")
    version, _ = ModelVersion.objects.get_or_create(
        kind=kind, name=name,
        defaults=dict(base=base, config=config or {}, adapter_path=adapter_path, parent=parent,
                      lineage=lineage or {}, metrics=metrics or {}, created_by_job=created_by_job),
    )
    return version


def _preference_refusal(version: ModelVersion, active: ModelVersion) -> str | None:
    """A preference critic against the active critic on its own test pairs: the rating critic as measured there
    through its expected rewards, or a preference critic tested on the same snapshot's pairs."""
    metrics, active_metrics = version.metrics or {}, active.metrics or {}
    mine = metrics.get("mean_accuracy_without_ties")
    if mine is None:
        return "This critic has no pairwise evaluation yet (mean_accuracy_without_ties is missing)."
    beside = metrics.get("rating_critic_on_these_pairs") or {}
    same_pairs = (active_metrics.get("test_split") or {}).get("pairs") == (metrics.get("test_split") or {}).get("pairs")
    if beside.get("critic") == active.pk:
        theirs = beside.get("mean_accuracy_without_ties")
    elif is_preference_critic(active) and same_pairs:
        theirs = active_metrics.get("mean_accuracy_without_ties")
    else:
        return f"The active critic {active.name} was not measured on this critic's test pairs."
    if theirs is not None and mine < theirs:
        return f"Pairwise accuracy {mine:.3f} is below the active critic's {theirs:.3f} on the same test pairs."
    return None


def _critic_refusal(version: ModelVersion, active: ModelVersion) -> str | None:
    """Mean accuracy on the same test rows: the active critic's accuracy on this version's split as measured
    when this version was trained, else its own figure when both were tested on one split."""
    metrics, active_metrics = version.metrics or {}, active.metrics or {}
    mine, theirs = metrics.get("mean_accuracy"), active_metrics.get("mean_accuracy")
    if mine is None:
        return "This critic has no evaluation yet (mean_accuracy is missing)."
    measured = (metrics.get("active_on_this_split") or {}).get(str(active.pk))
    if measured is not None and measured.get("mean_accuracy") is not None:
        theirs = measured["mean_accuracy"]
        if mine < theirs:
            return f"Mean accuracy {mine:.3f} is below the active critic's {theirs:.3f} on this critic's test split."
        return None
    split, their_split = metrics.get("test_split"), active_metrics.get("test_split")
    if split and their_split and split.get("sha256") != their_split.get("sha256"):
        return (f"It was tested on another split (snapshot {split.get('number')}) than the active critic "
                f"(snapshot {their_split.get('number')}), and the active critic was not measured on its split.")
    if theirs is not None and mine < theirs:
        return f"Mean accuracy {mine:.3f} is below the active critic's {theirs:.3f}."
    return None


def promotion_refusal(*, version: ModelVersion, active: ModelVersion | None) -> str | None:
    """Why promoting `version` over `active` is refused, or None when it is an improvement."""
    if active is not None and active.pk == version.pk:
        return None
    if version.kind == ModelVersion.Kind.CRITIC:
        if active is None:
            return None
        return _preference_refusal(version, active) if is_preference_critic(version) else _critic_refusal(version, active)
    # An aligned generator carries its own comparison (its baseline's held-out reward and its own; the baseline
    # is its parent, or the generator a warmed-up loop started from), so it is refused when worse than that
    # even where no generator is active yet.
    metrics = version.metrics or {}
    people = metrics.get("people_review") or {}
    if people.get("verdict") == "promote" and active is not None and people.get("incumbent") == active.pk:
        return None  # people rated its videos above the active one's, prompt by prompt (services.people_review)
    before, after = metrics.get("heldout_reward_before"), metrics.get("heldout_reward_after")
    if before is None or after is None:
        return None if active is None else "This generator has no held-out reward before and after alignment."
    if after <= before:
        return f"Held-out reward did not improve ({before:.4f} before, {after:.4f} after)."
    return _within_noise(metrics, after - before)


def _within_noise(metrics: dict, gain: float) -> str | None:
    """Refuses a rise no larger than PROMOTION_MIN_SE standard errors. The error is that of the mean rise per
    held-out sample where both sides generated the same prompts and seeds (a paired comparison), else that of
    the difference of the two means; metrics with neither spread (older versions) are not checked."""
    required = settings.LIFT["PROMOTION_MIN_SE"]
    paired = (metrics.get("heldout_change") or {}).get("reward_paired")
    spreads = [(metrics.get(side) or {}) for side in ("heldout_before", "heldout_after")]
    if paired:
        error, of = paired["sd"] / math.sqrt(paired["count"]), "the rise per held-out sample"
    elif all(s.get("reward_sd") is not None and s.get("count") for s in spreads):
        error, of = math.sqrt(sum(s["reward_sd"] ** 2 / s["count"] for s in spreads)), "the difference of the means"
    else:
        return None
    if required > 0 and gain <= required * error:
        return (f"Held-out reward rose by {gain:.4f}, within its noise: not more than {required:g} standard errors "
                f"of {of} ({required:g} × {error:.4f}).")
    return None


@transaction.atomic
def version_promote(*, version: ModelVersion, by=None, force: bool = False, reason: str = "") -> ModelVersion:
    """Make `version` the active one of its kind; refused unless better, or forced with a reason.

    Promoting an earlier version is how a rollback is done (the same rule, usually forced).
    """
    locked = list(ModelVersion.objects.select_for_update().filter(kind=version.kind, is_active=True))
    active = locked[0] if locked else None
    version = ModelVersion.objects.select_for_update().get(pk=version.pk)
    if active and active.pk == version.pk:
        raise Conflict(f"{version} is already active.", code="already_active")
    refusal = promotion_refusal(version=version, active=active)
    if refusal and not force:
        raise Conflict(f"Promotion refused: {refusal} An admin can force it with a reason.",
                       code="promotion_refused", fields={"refusal": refusal})
    if force and refusal and not reason.strip():
        raise ApplicationError("A forced promotion needs a reason.", fields={"reason": "required when forcing"})
    if active:
        ModelVersion.objects.filter(pk=active.pk).update(is_active=False)
    if version.kind == ModelVersion.Kind.GENERATOR:
        # A waiting challenger is judged against the generator it would replace (services.people_review): once a
        # generator is promoted (that one, by people or by hand, or another), its wait is over.
        ModelVersion.objects.filter(kind=version.kind, awaiting_review=True).update(awaiting_review=False)
    version.is_active, version.awaiting_review = True, False
    version.save(update_fields=["is_active", "awaiting_review"])
    PromotionEvent.objects.create(version=version, previous=active, forced=bool(force and refusal),
                                  reason=reason.strip(), by=by)
    on_critic_promoted(version)  # active learning re-orders uncertainty campaigns once this commits
    return version
