"""A retrain loop's settings, checked: the same ones a `retrain_loop` job takes and the policy holds.
One loop at a time: asking for a second while one is unfinished is a 409."""
from annotation.models import Campaign, Prompt
from annotation.snapshots.export import DEFAULT_STATES, filters_clean
from lift.api_errors import ApplicationError, Conflict

from ..models import ModelVersion
from ..selectors import unfinished_loop
from .stages import STAGE_NAMES, stage_named

LOOP_SETTINGS = ("stages", "source_campaign_ids", "review_states", "next_round_campaign", "candidates", "next_round",
                 "critic", "align", "generator_gate")
GENERATOR_GATES = ("critic", "people", "critic_first")
# The gates under which an aligned generator may wait for people's ratings (and every loop reviews first).
PEOPLE_GATES = ("people", "critic_first")
_ROUND_KEYS = {"prompt_ids", "count", "seed", "seeds"}


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def _round_validate(name: str, value, default_seed: int) -> dict:
    """{"prompt_ids": [...]} or {"count": N, "seed": S} (a prompt-bank draw), with "seeds" per prompt."""
    if not isinstance(value or {}, dict):
        raise ApplicationError(f"{name} must be an object.", fields={name: "not an object"})
    value = dict(value or {})
    if unknown := set(value) - _ROUND_KEYS:
        raise ApplicationError(f"{name}: unknown keys {', '.join(sorted(unknown))}.", fields={name: sorted(unknown)})
    seeds = value.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool)
                                                             and 0 <= s < 2**31 for s in seeds):
        raise ApplicationError(f"{name}.seeds must be a non-empty list of non-negative integers.",
                               fields={name: "seeds"})
    prompt_ids = value.get("prompt_ids")
    if prompt_ids:
        if not isinstance(prompt_ids, list) or not all(_is_id(p) for p in prompt_ids):
            raise ApplicationError(f"{name}.prompt_ids must be a list of prompt ids.", fields={name: "prompt_ids"})
        found = set(Prompt.objects.filter(pk__in=prompt_ids).values_list("pk", flat=True))
        if missing := sorted(set(prompt_ids) - found):
            raise ApplicationError(f"{name}: unknown prompt ids {missing[:10]}.", fields={name: missing[:10]})
        return {"prompt_ids": sorted(set(prompt_ids)), "seeds": sorted(set(seeds))}
    count, seed = value.get("count", 8), value.get("seed", default_seed)
    for key, number, low in (("count", count, 1), ("seed", seed, 0)):
        if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= 10_000:
            raise ApplicationError(f"{name}.{key} must be an integer between {low} and 10000.", fields={name: key})
    return {"count": count, "seed": seed, "seeds": sorted(set(seeds))}


def _stages_validate(settings: dict) -> list[str]:
    stages = settings.get("stages") or [name for name in STAGE_NAMES if name != "review_generator"]
    if not isinstance(stages, list) or not stages or not set(stages) <= set(STAGE_NAMES):
        raise ApplicationError(f"stages must be a non-empty list of: {', '.join(STAGE_NAMES)}.",
                               fields={"stages": "unknown stage"})
    # The warm-up runs exactly when the align stage runs and align.warm_up asks for it, whatever the list says,
    # so a policy whose stages were stored before a warm-up was set (or unset) stays consistent.
    warm = "align" in stages and bool((settings.get("align") or {}).get("warm_up"))
    stages = [name for name in stages if name != "warm_up"] + (["warm_up"] if warm else [])
    # Where people may decide, every loop first decides on the generator the previous one left to them.
    if settings.get("generator_gate") in PEOPLE_GATES and "review_generator" not in stages:
        stages = ["review_generator", *stages]
    for name in stages:
        if missing := [need for need in stage_named(name).needs_given(settings) if need not in stages]:
            raise ApplicationError(f"Stage {name} needs {', '.join(missing)}.", fields={"stages": f"{name} needs {missing}"})
    return [name for name in STAGE_NAMES if name in stages]


def _warm_up_validate(align: dict) -> None:
    """align.warm_up: settings of a uniform fine-tune run before the align objective (SFT before DPO); the
    align job checks the values themselves when the stage starts."""
    warm_up = align.get("warm_up")
    if warm_up is None:
        return
    if not isinstance(warm_up, dict) or not warm_up:
        raise ApplicationError('align.warm_up must be an object of alignment settings, e.g. {"steps": 300}.',
                               fields={"align": "warm_up"})
    if warm_up.get("weighting", "uniform") != "uniform":
        raise ApplicationError("align.warm_up is a uniform fine-tune: leave weighting out.", fields={"align": "warm_up"})


def loop_settings_validate(settings: dict) -> dict:
    """The settings a loop runs with (the policy holds the same ones), canonical, or a 400 naming the bad one."""
    settings = dict(settings or {})
    sources = settings.get("source_campaign_ids") or []
    if not isinstance(sources, list) or not all(_is_id(i) for i in sources):
        raise ApplicationError("source_campaign_ids must be a list of campaign ids.",
                               fields={"source_campaign_ids": "not a list of ids"})
    filters = filters_clean({"campaign_ids": settings.get("source_campaign_ids") or [],
                             "review_states": settings.get("review_states") or DEFAULT_STATES})
    campaign = settings.get("next_round_campaign")
    if campaign is not None and (not _is_id(campaign) or not Campaign.objects.filter(pk=campaign).exists()):
        raise ApplicationError("next_round_campaign must name an existing campaign.",
                               fields={"next_round_campaign": "unknown"})
    for key in ("critic", "align"):
        if not isinstance(settings.get(key) or {}, dict):
            raise ApplicationError(f"{key} must be an object of {key} job params.", fields={key: "not an object"})
    if (settings.get("critic") or {}).get("kind", "rating") not in ("rating", "preference"):
        raise ApplicationError('critic.kind must be "rating" (train_critic) or "preference" (train_preference_critic).',
                               fields={"critic": "kind"})
    gate = settings.get("generator_gate") or "critic"
    if gate not in GENERATOR_GATES:
        raise ApplicationError('generator_gate must be "critic" (its held-out reward decides at once), "people" '
                               "(their ratings of its videos beside the active generator's decide in the next loop) "
                               'or "critic_first" (the critic promotes at once; what it refuses, people decide).',
                               fields={"generator_gate": "unknown"})
    candidates = _round_validate("candidates", settings.get("candidates"), default_seed=0)
    align = settings.get("align") or {}
    _warm_up_validate(align)
    if align.get("objective") == "dpo" and align.get("pairs") != "snapshot" and len(candidates["seeds"]) < 2:
        raise ApplicationError("The dpo objective pairs each prompt's best and worst candidate: candidates.seeds needs "
                               "two or more seeds.", fields={"candidates": "one seed"})
    stages = _stages_validate(settings)
    if gate in PEOPLE_GATES and "generate_next_round" in stages and campaign is None:
        raise ApplicationError(f'With generator_gate "{gate}", the generate_next_round stage needs a next_round_campaign: '
                               "people rate a waiting generator's videos there, beside the active generator's.",
                               fields={"next_round_campaign": "required by the gate"})
    return {"stages": stages, "source_campaign_ids": filters["campaign_ids"], "review_states": filters["review_states"],
            "next_round_campaign": campaign,
            "candidates": candidates,
            "next_round": _round_validate("next_round", settings.get("next_round"), default_seed=1),
            "critic": dict(settings.get("critic") or {}), "align": dict(settings.get("align") or {}),
            "generator_gate": gate}


def loop_params_validate(*, params: dict) -> dict:
    """The `retrain_loop` kind's check (API, run_job and triggers alike)."""
    params = dict(params or {})
    if unknown := set(params) - set(LOOP_SETTINGS):
        raise ApplicationError(f"Unknown retrain_loop params: {', '.join(sorted(unknown))}.",
                               fields={"params": sorted(unknown)})
    clean = loop_settings_validate(params)
    generating = {"generate_candidates", "align", "generate_next_round"} & set(clean["stages"])
    if generating and not ModelVersion.objects.filter(kind=ModelVersion.Kind.GENERATOR, is_active=True).exists():
        raise ApplicationError("There is no active generator to generate with; promote one first.",
                               code="no_active_generator", fields={"generator": "no active version"})
    if running := unfinished_loop():
        raise Conflict(f"A retrain loop is already {running.status} (job {running.pk}).", code="loop_running",
                       fields={"loop": running.pk})
    return clean
