"""Checking an align request in the web process (no torch): versions, critic dimensions, candidates,
real corpus, held-out prompts and the engine's settings, each refused with the reason before a job row
exists. `align_params_validate` returns the canonical params the job runs with."""
import json
from pathlib import Path

from annotation.models import CampaignItem, Prompt, Video
from annotation.services.prompts import prompts_combine_check
from lift.api_errors import ApplicationError

from ..models import ModelVersion
from ..selectors import critic_dimensions, is_preference_critic
from .align_data import (consensus_ratings, critic_ratings, real_corpus, snapshot_preferences, snapshot_ready,
                         videos_captioned)
from .generation import generator_spec
from .scoring import require_critic

PARAMS = {"generator_version", "critic_version", "snapshot", "objective", "settings", "real", "candidates",
          "heldout", "reward_model", "pairs", "baseline_version"}
# Set by the job itself, never by a request.
JOB_SETTINGS = {"base", "output_dir", "cache_dir", "resume", "lora_init", "objective", "validation_seeds",
                "validate_at_end"}
# Training size and text length follow the generator's settings unless the request overrides them.
SIZE_SETTINGS = ("frames", "height", "width", "max_sequence_length")
# Differentiable rewards edit_reward can maximise: the job's critic (its expected reward taken through the
# decoded frames), the synthetic world's colour reward, or {"image_text": "<hub id or path>"} (CLIP-style).
EDIT_REWARD_MODELS = ("critic", "synthetic_colour")
MAX_CANDIDATES = 100_000
JOB_OBJECTIVES = ("reward_weighted", "rejection", "edit_reward", "dpo")


def _ints(value, what: str) -> list[int]:
    ok = isinstance(value, list) and value and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
    if not ok:
        raise ApplicationError(f"{what} must be a non-empty list of non-negative integers.", fields={what: "invalid"})
    return sorted(set(value))


def _draw_spec(spec, what: str) -> dict:
    """{"prompt_ids": [...]} or {"count": n, "seed": s} (drawn from the prompt bank when the job runs)."""
    seeds = _ints(spec.get("seeds", [0]), f"{what}.seeds")
    if "prompt_ids" in spec:
        ids = _ints(spec["prompt_ids"], f"{what}.prompt_ids")
        found = set(Prompt.objects.filter(pk__in=ids).values_list("pk", flat=True))
        if missing := [p for p in ids if p not in found]:
            raise ApplicationError(f"Unknown {what} prompt ids: {missing[:10]}", fields={what: missing[:10]})
        return {"prompt_ids": ids, "seeds": seeds}
    if "count" not in spec:
        raise ApplicationError(f"{what} needs prompt_ids, or a count of prompts to draw from the bank with a seed.",
                               fields={what: "invalid"})
    count, seed, _ = prompts_combine_check(count=spec["count"], seed=spec.get("seed", 0))
    return {"count": count, "seed": seed, "seeds": seeds}


def _base_version(version_id) -> ModelVersion:
    from ..engine.generation import read_limits

    version = ModelVersion.objects.filter(pk=version_id, kind=ModelVersion.Kind.GENERATOR).first() \
        if isinstance(version_id, int) else None
    if version is None:
        raise ApplicationError("generator_version must name a generator version.", fields={"generator_version": "unknown"})
    try:
        family = read_limits(version.base).family
    except (OSError, ValueError) as exc:
        raise ApplicationError(f"Generator {version.name}: cannot read its model config: {exc}",
                               fields={"generator_version": "unreadable"}) from exc
    if family != "cogvideox":
        raise ApplicationError(f"Generator {version.name} is a {family} model; align trains CogVideoX models.",
                               fields={"generator_version": "not trainable"})
    return version


def _baseline_version(version_id, version: ModelVersion) -> ModelVersion | None:
    """The generator "before" is measured on, where it is not the one trained from (a loop that warms up first
    compares the end of its chain with the active generator). None: the one trained from."""
    if version_id is None:
        return None
    baseline = ModelVersion.objects.filter(pk=version_id, kind=ModelVersion.Kind.GENERATOR).first() \
        if isinstance(version_id, int) and not isinstance(version_id, bool) else None
    if baseline is None:
        raise ApplicationError("baseline_version must name a generator version.", fields={"baseline_version": "unknown"})
    return None if baseline.pk == version.pk else baseline


def _config(*, version: ModelVersion, objective: str, requested: dict, seeds: list[int]) -> dict:
    """The engine's AlignConfig for this request, checked; the job fills in its own paths when it runs."""
    from ..engine.align.compat import META_NAME, check_lora_matches, lora_file
    from ..engine.align.config import AlignConfig, AlignConfigError

    if not isinstance(requested, dict):
        raise ApplicationError("settings must be an object of alignment settings.", fields={"settings": "invalid"})
    if reserved := sorted(JOB_SETTINGS & set(requested)):
        raise ApplicationError(f"settings the job sets itself: {', '.join(reserved)}", fields={"settings": reserved})
    spec = generator_spec(version=version, overrides={k: requested[k] for k in SIZE_SETTINGS if k in requested})
    values = {"frames": spec.frames, "height": spec.height, "width": spec.width,
              "max_sequence_length": spec.max_sequence_length, "sample_steps": spec.steps,
              "vae_tiling": spec.vae_tiling, "guidance": spec.guidance, "fps": spec.fps, **requested}
    if version.adapter_path:
        # Training goes on from the version's own LoRA, at its rank.
        meta = lora_file(version.adapter_path).parent / META_NAME
        rank = json.loads(meta.read_text()).get("rank") if meta.is_file() else None
        if "lora_rank" in requested and requested["lora_rank"] is None:
            raise ApplicationError(f"Generator {version.name} is a LoRA: full fine-tuning from it is not supported; "
                                   "train a LoRA (it starts from this one).", fields={"settings": "lora_rank"})
        if rank is not None and requested.get("lora_rank", rank) != rank:
            raise ApplicationError(f"Generator {version.name}'s LoRA has rank {rank}; lora_rank must match.",
                                   fields={"settings": "lora_rank"})
        values.setdefault("lora_rank", rank or 64)
        values["lora_init"] = version.adapter_path
    # The job's "after" measure generates the held-out prompts at these seeds from the final weights: the
    # engine's own end-of-training validation would make the same videos a second time.
    values.update(base=version.base, output_dir="<job>", objective=objective, validation_seeds=seeds,
                  validate_at_end=False)
    try:
        config = AlignConfig.from_dict(values)
        config.validate()
        if config.lora_init:
            check_lora_matches(config.lora_init, config.base)
    except AlignConfigError as exc:
        raise ApplicationError(f"Alignment settings: {exc.reason}", fields={"settings": exc.reason}) from exc
    except (TypeError, OSError) as exc:
        raise ApplicationError(f"Alignment settings: {exc}", fields={"settings": str(exc)}) from exc
    data = config.to_dict()
    data.pop("output_dir")
    return data


def _check_dimensions(*, critic: ModelVersion, snapshot, version: ModelVersion) -> list[str]:
    dims = critic_dimensions(critic)
    rated = snapshot.manifest.get("dimensions") if snapshot is not None else None
    if rated and sorted(rated) != sorted(dims):  # a snapshot of pairs alone rates nothing to compare
        raise ApplicationError(
            f"Critic {critic.name} rates {sorted(dims)}, snapshot {snapshot.number} {sorted(snapshot.manifest.get('dimensions', []))}.",
            code="incompatible_critic", fields={"critic_version": "other dimensions"})
    earlier = (version.lineage or {}).get("critic_dimensions")
    if earlier and sorted(earlier) != sorted(dims):
        raise ApplicationError(
            f"Critic {critic.name} rates {sorted(dims)}; {version.name} was measured on {sorted(earlier)}, "
            "so before and after would not compare.", code="incompatible_critic",
            fields={"critic_version": "other dimensions"})
    return dims


def _check_candidates(*, candidates, objective: str, critic, snapshot, reward_model) -> dict:
    if not isinstance(candidates, dict) or len(candidates) != 1 or set(candidates) - {"generate", "video_ids"}:
        raise ApplicationError('candidates must be {"generate": {"count", "seeds", "seed"}} or {"video_ids": [...]}.',
                               fields={"candidates": "invalid"})
    if "generate" in candidates:
        draw = _draw_spec(candidates["generate"] if isinstance(candidates["generate"], dict) else {}, "candidates.generate")
        if "prompt_ids" in draw:
            raise ApplicationError("candidates.generate draws its prompts: give count and seed.",
                                   fields={"candidates": "invalid"})
        if draw["count"] * len(draw["seeds"]) > MAX_CANDIDATES:
            raise ApplicationError(f"At most {MAX_CANDIDATES} candidates per job.", fields={"candidates": "too many"})
        if objective == "dpo" and len(draw["seeds"]) < 2:
            raise ApplicationError("dpo pairs each prompt's best and worst candidate: candidates.generate needs two "
                                   "or more seeds.", fields={"candidates": "one seed"})
        if objective == "edit_reward" and reward_model == "synthetic_colour":
            raise ApplicationError("synthetic_colour scores synthetic-world prompts, not prompt-bank draws: "
                                   "give candidates.video_ids.", fields={"candidates": "not scorable"})
        return {"generate": draw}
    ids = _ints(candidates["video_ids"], "candidates.video_ids")
    videos = videos_captioned(video_ids=ids, what="candidates")
    if missing := sorted(set(ids) - {v.pk for v in videos}):
        raise ApplicationError(f"Unknown candidate video ids: {missing[:10]}", fields={"candidates": missing[:10]})
    if objective == "edit_reward":
        return {"video_ids": ids}
    if objective == "dpo" and len({v.prompt_id for v in videos}) == len(videos):
        raise ApplicationError("dpo pairs each prompt's best and worst candidate, and no prompt has two candidate "
                               "videos.", fields={"candidates": "no pairs"})
    ratings = {**critic_ratings(critic=critic, video_ids=ids), **consensus_ratings(snapshot=snapshot, videos=videos)}
    if not ratings:
        raise ApplicationError(
            f"No scored data: none of the {len(ids)} candidate videos has scores from critic {critic.name}"
            + (f" or a consensus in snapshot {snapshot.number}" if snapshot else "")
            + "; score them first, or let the job generate its candidates.", code="no_scored_data",
            fields={"candidates": "unscored"})
    # Candidates the critic has not scored yet are scored by the job itself (as generated ones are).
    complete = len(ratings) == len(ids)
    if objective == "rejection" and complete and not is_preference_critic(critic) and not any(all(r == "Good" for r in rs.values()) for rs in ratings.values()):
        raise ApplicationError("rejection keeps videos rated Good on every dimension, and no candidate is.",
                               code="no_scored_data", fields={"candidates": "none all Good"})
    return {"video_ids": ids}


def _check_pairs_source(*, params: dict, objective: str, snapshot, heldout: dict) -> str | None:
    """dpo's pairs: "critic" (the candidates ranked, the default) or "snapshot" (people's comparisons in the
    snapshot's train split, the candidates unused). None for the other objectives."""
    if objective != "dpo":
        if "pairs" in params:
            raise ApplicationError("pairs is only used by the dpo objective.", fields={"pairs": "not dpo"})
        return None
    source = params.get("pairs", "critic")
    if source not in ("critic", "snapshot"):
        raise ApplicationError('pairs must be "critic" (the candidates ranked) or "snapshot" (people\'s comparisons).',
                               fields={"pairs": "invalid"})
    if source == "critic":
        return source
    if snapshot is None:
        raise ApplicationError('pairs "snapshot" needs a snapshot with compared pairs.', fields={"snapshot": "required"})
    if params.get("candidates") is not None:
        raise ApplicationError('With pairs "snapshot" the job trains on people\'s pairs: leave candidates out.',
                               fields={"candidates": "not used"})
    preferences = snapshot_preferences(snapshot=snapshot)
    if not preferences:
        raise ApplicationError(f"Snapshot {snapshot.number} has no pair in its train split that people preferred "
                               "one side of.", code="no_scored_data", fields={"snapshot": "no pairs"})
    if "prompt_ids" in heldout:
        items = CampaignItem.objects.filter(pk__in=[p["item"] for p in preferences])
        if shared := sorted(set(items.values_list("video__prompt_id", flat=True)) & set(heldout["prompt_ids"])):
            raise ApplicationError(f"Held-out prompts {shared[:10]} are also compared pairs' prompts; held out means "
                                   "unseen.", fields={"heldout": shared[:10]})
    return source


def _check_edit_reward(*, reward_model, candidates: dict, heldout: dict) -> None:
    from ..engine.synthetic import PromptParseError, parse_prompt

    if isinstance(reward_model, dict) and set(reward_model) == {"image_text"} and isinstance(reward_model["image_text"], str):
        path = reward_model["image_text"]
        if path.startswith(("/", ".")) and not Path(path).is_dir():
            raise ApplicationError(f"reward_model.image_text {path} is not a directory.", fields={"reward_model": "not found"})
        return
    if reward_model not in EDIT_REWARD_MODELS:
        raise ApplicationError(f"edit_reward needs a differentiable reward_model: one of {EDIT_REWARD_MODELS} or "
                               '{"image_text": "<hub id or path>"}.', fields={"reward_model": "required"})
    if reward_model == "critic":
        return
    if "prompt_ids" not in heldout:
        raise ApplicationError("synthetic_colour scores synthetic-world prompts: give heldout.prompt_ids.",
                               fields={"heldout": "not scorable"})
    prompt_ids = set(heldout["prompt_ids"]) | set(
        Video.objects.filter(pk__in=candidates["video_ids"]).values_list("prompt_id", flat=True))
    for prompt in Prompt.objects.filter(pk__in=prompt_ids):
        try:
            parse_prompt(prompt.text)
        except PromptParseError as exc:
            raise ApplicationError(f"synthetic_colour cannot score prompt {prompt.pk}: {exc}",
                                   fields={"reward_model": "prompt not scorable"}) from exc


def align_params_help() -> dict[str, str]:
    """Every setting the job takes under `settings`: the engine config's own help."""
    from dataclasses import fields

    from ..engine.align.config import AlignConfig

    return {"objective": "reward_weighted (LiFT), rejection, edit_reward (needs a differentiable reward_model), or dpo "
                         "(Diffusion-DPO on pairs of each prompt's best- and worst-scored candidate; needs lora_rank).",
            "baseline_version": "The generator the held-out reward before is measured on (and the promotion rule compares "
                                "with); default the one trained from. A retrain loop that warms up first names the "
                                "active generator.",
            **{f"settings.{f.name}": f.metadata["help"] for f in fields(AlignConfig)
               if f.name not in JOB_SETTINGS and "help" in f.metadata}}


def align_params_validate(*, params: dict) -> dict:
    """Canonical params of an align job, or an ApplicationError that says what is wrong (nothing is written)."""
    params = dict(params or {})
    if unknown := sorted(set(params) - PARAMS):
        raise ApplicationError(f"Unknown align params: {', '.join(unknown)}", fields={"params": unknown})
    version = _base_version(params.get("generator_version"))
    critic = require_critic(params.get("critic_version"))
    snapshot = snapshot_ready(snapshot_id=params["snapshot"]) if params.get("snapshot") is not None else None
    _check_dimensions(critic=critic, snapshot=snapshot, version=version)
    baseline = _baseline_version(params.get("baseline_version"), version)
    if baseline is not None:
        _check_dimensions(critic=critic, snapshot=snapshot, version=baseline)
    objective = params.get("objective", "reward_weighted")
    if objective not in JOB_OBJECTIVES:
        raise ApplicationError(f"objective must be one of {', '.join(JOB_OBJECTIVES)}.", fields={"objective": "invalid"})
    reward_model = params.get("reward_model")
    if not isinstance(params.get("heldout"), dict):
        raise ApplicationError("heldout prompts are required: {\"prompt_ids\": [...]} or {\"count\": n, \"seed\": s}, "
                               "with fixed seeds.", fields={"heldout": "required"})
    heldout = _draw_spec(params["heldout"], "heldout")
    config = _config(version=version, objective=objective, requested=params.get("settings") or {},
                     seeds=heldout["seeds"])
    pairs = _check_pairs_source(params=params, objective=objective, snapshot=snapshot, heldout=heldout)
    candidates = None if pairs == "snapshot" else _check_candidates(
        candidates=params.get("candidates"), objective=objective, critic=critic, snapshot=snapshot,
        reward_model=reward_model)
    if candidates and "generate" in candidates and "seed" in heldout and candidates["generate"]["seed"] == heldout["seed"]:
        raise ApplicationError("candidates and heldout draw with the same seed, so they would share prompts; "
                               "held out means unseen.", fields={"heldout": "same seed as candidates"})
    if candidates and "video_ids" in candidates and "prompt_ids" in heldout:
        trained = set(Video.objects.filter(pk__in=candidates["video_ids"]).values_list("prompt_id", flat=True))
        if shared := sorted(trained & set(heldout["prompt_ids"])):
            raise ApplicationError(f"Held-out prompts {shared[:10]} are also candidates' prompts; held out means unseen.",
                                   fields={"heldout": shared[:10]})
    if objective == "edit_reward":
        if reward_model == "critic" and is_preference_critic(critic):
            raise ApplicationError("edit_reward back-propagates through a rating critic's answer; critic "
                                   f"{critic.name} is a preference critic.", fields={"reward_model": "preference critic"})
        _check_edit_reward(reward_model=reward_model, candidates=candidates, heldout=heldout)
    real = real_corpus(spec=params.get("real") or {})
    uses_real = objective not in ("edit_reward", "dpo") and config["real_weight"] > 0  # dpo's regulariser: its reference
    if uses_real and not real:
        raise ApplicationError("The real corpus is empty but its weight λ (settings.real_weight) is above 0: "
                               "name ingested videos in real, or set real_weight to 0.", code="empty_real_corpus",
                               fields={"real": "empty"})
    if uses_real:
        short = [v.pk for v in videos_captioned(video_ids=real, what="real") if 0 < v.frames < config["frames"]]
        if short:
            raise ApplicationError(f"Real videos shorter than {config['frames']} frames: {short[:10]}",
                                   fields={"real": short[:10]})
    return {"generator_version": version.pk, "critic_version": critic.pk,
            "snapshot": snapshot.pk if snapshot else None, "objective": objective, "settings": config,
            "real": real if uses_real else [], "candidates": candidates, "heldout": heldout,
            "reward_model": reward_model if objective == "edit_reward" else None,
            **({"pairs": pairs} if pairs else {}), **({"baseline_version": baseline.pk} if baseline else {})}
