"""The stages of a retrain loop, in order: what each one runs and what it hands on to the next.

A job stage builds the params of a child job from the loop's settings and what earlier stages produced
(`context`), and reads back what it made. An inline stage (review, evaluate, promote) is a quick registry step
the loop does itself. Every stage returns (outcome text, context additions).
"""
from collections.abc import Callable
from dataclasses import dataclass

from lift.api_errors import ApplicationError, Conflict

from ..models import Job, ModelVersion
from ..selectors import active_version
from ..services.people_review import generator_await_review, review_waiting_generator
from ..services.registry import promotion_refusal, version_promote


@dataclass(frozen=True)
class Stage:
    name: str
    kind: str = ""  # a job kind, or "" for an inline stage
    build: Callable[[dict, dict], dict] | None = None  # (loop params, context) -> child job params
    read: Callable[[Job], tuple[str, dict]] | None = None  # finished child -> (outcome, context additions)
    inline: Callable[[dict, dict, object], tuple[str, dict]] | None = None  # (params, context, by) -> ...
    needs: tuple[str, ...] = ()  # stages whose output this one reads
    kind_for: Callable[[dict], str] | None = None  # the job kind by the loop's params, where it depends on them
    needs_for: Callable[[dict], tuple[str, ...]] | None = None  # `needs` by the loop's params, where they decide it

    def job_kind(self, params: dict) -> str:
        return self.kind_for(params) if self.kind_for else self.kind

    def needs_given(self, params: dict) -> tuple[str, ...]:
        return self.needs_for(params) if self.needs_for else self.needs


def _active_id(kind: str, what: str) -> int:
    version = active_version(kind=kind)
    if version is None:
        raise ApplicationError(f"There is no active {kind} to {what}; promote one first.",
                               code=f"no_active_{kind}", fields={kind: "no active version"})
    return version.pk


def _prompt_ids(settings: dict) -> list[int]:
    """Explicit prompt ids, or a reproducible draw from the prompt bank."""
    if settings.get("prompt_ids"):
        return list(settings["prompt_ids"])
    from annotation.services.prompts import prompts_combine

    return [p.pk for p in prompts_combine(count=int(settings.get("count", 8)), seed=int(settings.get("seed", 0)))]


# --- job stages ---------------------------------------------------------------------------------------

def _snapshot_params(params: dict, context: dict) -> dict:
    return {"filters": {"campaign_ids": params["source_campaign_ids"], "review_states": params["review_states"]}}


def _snapshot_read(job: Job) -> tuple[str, dict]:
    counts = job.result.get("counts", {})
    return (f"snapshot {job.result.get('number')}: {counts.get('annotations', 0)} annotations",
            {"snapshot_id": job.result["snapshot_id"]})


def _critic_params(params: dict, context: dict) -> dict:
    settings = {k: v for k, v in params["critic"].items() if k != "kind"}
    return {**settings, "snapshot": context["snapshot_id"]}


def _critic_kind(params: dict) -> str:
    """critic.kind "preference": a Bradley–Terry critic on the snapshot's compared pairs; else a rating critic."""
    return "train_preference_critic" if params["critic"].get("kind") == "preference" else "train_critic"


def _version_from(job: Job, kind: str) -> int:
    """The version a training job registered (its result names it; created_by_job is the fallback)."""
    for key in ("version_id", f"{kind}_version", "version"):
        if isinstance(job.result.get(key), int):
            return job.result[key]
    version = ModelVersion.objects.filter(kind=kind, created_by_job=job).order_by("-pk").first()
    if version is None:
        raise ApplicationError(f"Job {job.pk} finished without registering a {kind} version.")
    return version.pk


def _version_read(kind: str) -> Callable[[Job], tuple[str, dict]]:
    def read(job: Job) -> tuple[str, dict]:
        version_id = _version_from(job, kind)
        return f"{kind} version {version_id}", {f"{kind}_version": version_id}
    return read


def _candidates_params(params: dict, context: dict) -> dict:
    candidates = params["candidates"]
    return {"generator_version": _active_id(ModelVersion.Kind.GENERATOR, "generate candidates with"),
            "prompt_ids": _prompt_ids(candidates), "seeds": candidates.get("seeds", [0])}


def _videos_read(key: str) -> Callable[[Job], tuple[str, dict]]:
    def read(job: Job) -> tuple[str, dict]:
        ids = job.result.get("video_ids", [])
        return f"{len(ids)} videos ({job.result.get('generated', 0)} new)", {key: ids}
    return read


def _score_params(params: dict, context: dict) -> dict:
    return {"critic": _active_id(ModelVersion.Kind.CRITIC, "score with"), "video_ids": context["candidate_video_ids"]}


def _score_read(job: Job) -> tuple[str, dict]:
    scored = job.result.get("scored", job.result.get("video_count"))
    return (f"scored {scored} videos" if scored is not None else "scored"), {}


# Held-out prompts for the before/after reward when the policy names none: a fixed draw, so rounds compare.
DEFAULT_HELDOUT = {"count": 4, "seed": 90_001, "seeds": [0]}


def _align_needs(params: dict) -> tuple[str, ...]:
    """dpo on people's pairs reads the snapshot's comparisons; every other objective the new candidates; and
    with a warm-up, the align stage starts from the warm-up's version."""
    align = params.get("align") or {}
    source = ("snapshot",) if align.get("pairs") == "snapshot" else ("generate_candidates",)
    return (*source, "warm_up") if align.get("warm_up") else source


# What the warm-up does not inherit from the align settings: the objective's own knobs (it is uniform).
_NOT_WARMED = ("dpo_beta", "dpo_reference", "weighting", "temperature", "min_ess_fraction", "top_fraction")


def _warm_up_params(params: dict, context: dict) -> dict:
    """A uniform fine-tune on the candidates (every one weighs the same): the align settings (so the LoRA rank
    matches) with the warm-up's own on top; without a real corpus it trains on the candidates alone."""
    align, real = params["align"], params["align"].get("real")
    inherited = {k: v for k, v in (align.get("settings") or {}).items() if k not in _NOT_WARMED}
    inherited.update({} if real else {"real_weight": 0.0})
    return {"objective": "reward_weighted", "settings": {**inherited, **align["warm_up"], "weighting": "uniform"},
            "heldout": align.get("heldout", DEFAULT_HELDOUT),
            "generator_version": _active_id(ModelVersion.Kind.GENERATOR, "warm up"),
            "critic_version": _active_id(ModelVersion.Kind.CRITIC, "score the warm-up with"),
            "candidates": {"video_ids": context["candidate_video_ids"]}, **({"real": real} if real else {})}


def _warm_up_read(job: Job) -> tuple[str, dict]:
    version_id = _version_from(job, ModelVersion.Kind.GENERATOR)
    return f"warmed-up generator version {version_id}", {"warm_up_version": version_id}


def _align_params(params: dict, context: dict) -> dict:
    align = {k: v for k, v in params["align"].items() if k != "warm_up"}
    aligned = {"heldout": DEFAULT_HELDOUT, **align,
               "generator_version": _active_id(ModelVersion.Kind.GENERATOR, "align"),
               "critic_version": _active_id(ModelVersion.Kind.CRITIC, "align with")}
    if context.get("warm_up_version"):
        # Train on from the warm-up, but measure "before" on the active generator, so the promotion rule
        # compares the end of the chain with what it would replace. dpo's reference is the warm-up.
        aligned.update(generator_version=context["warm_up_version"], baseline_version=aligned["generator_version"])
        if aligned.get("objective") == "dpo":
            aligned["settings"] = {"dpo_reference": "start", **(aligned.get("settings") or {})}
    if params["align"].get("pairs") != "snapshot":  # dpo on people's pairs trains on the snapshot's, not candidates
        aligned["candidates"] = {"video_ids": context["candidate_video_ids"]}
    if context.get("snapshot_id") and "snapshot" not in params["align"]:
        aligned["snapshot"] = context["snapshot_id"]  # human ratings take precedence over the critic's
    return aligned


def _next_round_params(params: dict, context: dict) -> dict:
    """The active generator's videos to rate next; with a challenger awaiting people's review, the challenger's of
    the same prompts and seeds beside them, so the next loop can compare the two prompt by prompt."""
    next_round = params["next_round"]
    challenger = context.get("generator_challenger")
    return {"generator_version": _active_id(ModelVersion.Kind.GENERATOR, "generate the next round with"),
            "prompt_ids": _prompt_ids(next_round), "seeds": next_round.get("seeds", [0]),
            "campaign": params.get("next_round_campaign"), **({"compare_version": challenger} if challenger else {})}


# --- inline stages ------------------------------------------------------------------------------------

_KEY_FIGURES = {ModelVersion.Kind.CRITIC: ("mean_accuracy", "mean_accuracy_without_ties"),
                ModelVersion.Kind.GENERATOR: ("heldout_reward_before", "heldout_reward_after")}


def _evaluate(kind: str) -> Callable:
    """The new version's figures next to the active one's, and whether the promote rule would take it."""
    def evaluate(params: dict, context: dict, by) -> tuple[str, dict]:
        version = ModelVersion.objects.get(pk=context[f"{kind}_version"])
        active = active_version(kind=kind)
        figures = {name: version.metrics[name] for name in _KEY_FIGURES[kind] if name in version.metrics}
        refusal = promotion_refusal(version=version, active=active)
        verdict = f"not better: {refusal}" if refusal else "better than the active one"
        shown = ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items())
        return f"{shown}; {verdict}", {f"{kind}_figures": figures}
    return evaluate


def _review_generator(params: dict, context: dict, by) -> tuple[str, dict]:
    """The generator an earlier loop left to people: promoted or retired by their ratings, or still waiting."""
    review = review_waiting_generator(review_states=params["review_states"],
                                      campaign_ids=params["source_campaign_ids"], by=by)
    said = {"promote": "promoted generator version {challenger}", "retire": "retired generator version {challenger}",
            "wait": "generator version {challenger} still awaits people's ratings"}.get(review["verdict"])
    outcome = f"{said.format(**review)}: {review['reason']}" if said else review["reason"]
    return outcome, {"generator_review": review}


def _promote(kind: str) -> Callable:
    """Promote when the registry's rule says better; a refusal is an outcome, not a failure. With the people's
    gate an aligned generator is not promoted here: it waits for their ratings (the next round rates it); with
    "critic_first" only a generator the critic refuses waits for them."""
    def promote(params: dict, context: dict, by) -> tuple[str, dict]:
        version = ModelVersion.objects.get(pk=context[f"{kind}_version"])
        gate = params.get("generator_gate") if kind == ModelVersion.Kind.GENERATOR else None
        if gate == "people" and not version.is_active:
            return _await_people(version, f"{version} awaits people's ratings beside the active generator's")
        try:
            version_promote(version=version, by=by)
        except Conflict as refused:
            if refused.code == "already_active":
                return f"{version} already active", {f"{kind}_promoted": True}
            refusal = refused.fields.get("refusal", refused.message)
            if gate == "critic_first":
                return _await_people(version, f"the critic kept the active generator ({refusal}); {version} "
                                              "awaits people's ratings beside the active generator's")
            return f"kept the active {kind}: {refusal}", {f"{kind}_promoted": False}
        return f"promoted {version}", {f"{kind}_promoted": True}
    return promote


def _await_people(version: ModelVersion, outcome: str) -> tuple[str, dict]:
    """Leave the aligned generator to people: the next-round stage makes its videos beside the active one's."""
    generator_await_review(version=version)
    return outcome, {"generator_promoted": False, "generator_challenger": version.pk}


STAGES: list[Stage] = [
    Stage("review_generator", inline=_review_generator),
    Stage("snapshot", kind="snapshot", build=_snapshot_params, read=_snapshot_read),
    Stage("train_critic", kind="train_critic", build=_critic_params, read=_version_read(ModelVersion.Kind.CRITIC),
          needs=("snapshot",), kind_for=_critic_kind),
    Stage("evaluate_critic", inline=_evaluate(ModelVersion.Kind.CRITIC), needs=("train_critic",)),
    Stage("promote_critic", inline=_promote(ModelVersion.Kind.CRITIC), needs=("train_critic",)),
    Stage("generate_candidates", kind="generate", build=_candidates_params, read=_videos_read("candidate_video_ids")),
    Stage("score", kind="score", build=_score_params, read=_score_read, needs=("generate_candidates",)),
    Stage("warm_up", kind="align", build=_warm_up_params, read=_warm_up_read, needs=("generate_candidates",)),
    Stage("align", kind="align", build=_align_params, read=_version_read(ModelVersion.Kind.GENERATOR),
          needs_for=_align_needs),
    Stage("evaluate_generator", inline=_evaluate(ModelVersion.Kind.GENERATOR), needs=("align",)),
    Stage("promote_generator", inline=_promote(ModelVersion.Kind.GENERATOR), needs=("align",)),
    Stage("generate_next_round", kind="generate", build=_next_round_params, read=_videos_read("next_round_video_ids")),
]

STAGE_NAMES = [stage.name for stage in STAGES]


def stage_named(name: str) -> Stage:
    return next(stage for stage in STAGES if stage.name == name)
