"""The align job: a generator version and a critic → a new, measured generator version.

    candidates (generate N prompts × M seeds, or existing scored videos) → critic scores (human
    consensus from a snapshot wins where it exists) → held-out "before" → training (engine `align`,
    resumed from the latest checkpoint) → new version (parent = base) → held-out "after" → metrics

Every stage can run again after a killed worker: drawn prompts are kept in the job's metrics, videos
are keyed by generation, scores are stored once, training resumes from `checkpoint-{step}/`, and the
version is registered under a name made from the job id. The params are checked in the web process
(no torch) before the job is queued.
"""
import json
from pathlib import Path

from django.conf import settings

from annotation.models import Prompt, Video
from lift.api_errors import ApplicationError

from ..models import Job, ModelVersion
from .align_data import (
    candidate_scores, consensus_ratings, critic_ratings, heldout_change, heldout_summary, real_corpus,
    snapshot_ready, videos_captioned,
)
from .generation import generator_spec
from .scoring import critic_dimensions, require_critic

PARAMS = {"generator_version", "critic_version", "snapshot", "objective", "settings", "real", "candidates",
          "heldout", "reward_model"}
# Set by the job itself, never by a request.
JOB_SETTINGS = {"base", "output_dir", "cache_dir", "resume", "lora_init", "objective", "validation_seeds"}
# Training size and text length follow the generator's settings unless the request overrides them.
SIZE_SETTINGS = ("frames", "height", "width", "max_sequence_length")
# Differentiable rewards edit_reward can maximise (the critic is not differentiable in pixels).
EDIT_REWARD_MODELS = ("synthetic_colour",)
MAX_CANDIDATES = 100_000


def _ints(value, what: str, *, allow_empty: bool = False) -> list[int]:
    ok = isinstance(value, list) and (allow_empty or value) and all(
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
    count, seed = spec.get("count"), spec.get("seed", 0)
    if not isinstance(count, int) or not 1 <= count <= 10_000 or not isinstance(seed, int):
        raise ApplicationError(f"{what} needs prompt_ids, or a count (1–10000) of prompts to draw with a seed.",
                               fields={what: "invalid"})
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
              "vae_tiling": spec.vae_tiling, **requested}
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
    values.update(base=version.base, output_dir="<job>", objective=objective, validation_seeds=seeds)
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
    if snapshot is not None and sorted(snapshot.manifest.get("dimensions", [])) != sorted(dims):
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
    ratings = {**critic_ratings(critic=critic, video_ids=ids), **consensus_ratings(snapshot=snapshot, videos=videos)}
    if not ratings:
        raise ApplicationError(
            f"No scored data: none of the {len(ids)} candidate videos has scores from critic {critic.name}"
            + (f" or a consensus in snapshot {snapshot.number}" if snapshot else "")
            + "; score them first, or let the job generate its candidates.", code="no_scored_data",
            fields={"candidates": "unscored"})
    # Candidates the critic has not scored yet are scored by the job itself (as generated ones are).
    complete = len(ratings) == len(ids)
    if objective == "rejection" and complete and not any(all(r == "Good" for r in rs.values()) for rs in ratings.values()):
        raise ApplicationError("rejection keeps videos rated Good on every dimension, and no candidate is.",
                               code="no_scored_data", fields={"candidates": "none all Good"})
    return {"video_ids": ids}


def _check_edit_reward(*, reward_model, candidates: dict, heldout: dict) -> None:
    from ..engine.synthetic import PromptParseError, parse_prompt

    if reward_model not in EDIT_REWARD_MODELS:
        raise ApplicationError(f"edit_reward needs a differentiable reward_model: one of {EDIT_REWARD_MODELS}.",
                               fields={"reward_model": "required"})
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


def align_params_clean(params: dict) -> dict:
    """Canonical params of an align job, or an ApplicationError that says what is wrong (nothing is written)."""
    params = dict(params or {})
    if unknown := sorted(set(params) - PARAMS):
        raise ApplicationError(f"Unknown align params: {', '.join(unknown)}", fields={"params": unknown})
    version = _base_version(params.get("generator_version"))
    critic = require_critic(params.get("critic_version"))
    snapshot = snapshot_ready(snapshot_id=params["snapshot"]) if params.get("snapshot") is not None else None
    _check_dimensions(critic=critic, snapshot=snapshot, version=version)
    objective = params.get("objective", "reward_weighted")
    reward_model = params.get("reward_model")
    if not isinstance(params.get("heldout"), dict):
        raise ApplicationError("heldout prompts are required: {\"prompt_ids\": [...]} or {\"count\": n, \"seed\": s}, "
                               "with fixed seeds.", fields={"heldout": "required"})
    heldout = _draw_spec(params["heldout"], "heldout")
    config = _config(version=version, objective=objective, requested=params.get("settings") or {},
                     seeds=heldout["seeds"])
    candidates = _check_candidates(candidates=params.get("candidates"), objective=objective, critic=critic,
                                   snapshot=snapshot, reward_model=reward_model)
    if "video_ids" in candidates and "prompt_ids" in heldout:
        trained = set(Video.objects.filter(pk__in=candidates["video_ids"]).values_list("prompt_id", flat=True))
        if shared := sorted(trained & set(heldout["prompt_ids"])):
            raise ApplicationError(f"Held-out prompts {shared[:10]} are also candidates' prompts; held out means unseen.",
                                   fields={"heldout": shared[:10]})
    if objective == "edit_reward":
        _check_edit_reward(reward_model=reward_model, candidates=candidates, heldout=heldout)
    real = real_corpus(spec=params.get("real") or {})
    uses_real = objective != "edit_reward" and config["real_weight"] > 0
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
            "reward_model": reward_model if objective == "edit_reward" else None}


# ---------------------------------------------------------------------------------------------
# Running


def align_output_dir(*, job: Job) -> Path:
    return Path(settings.LIFT["MODELS_DIR"]) / "aligned" / f"align-job-{job.pk}"


def _band(report, low: float, high: float):
    """A report that maps a stage's own 0..1 onto [low, high] of the job's progress."""
    def forward(fraction=None, phase=None, **kwargs):
        report(fraction=None if fraction is None else low + (high - low) * fraction, phase=phase, **kwargs)
    return forward


def _run_stage(*, job: Job, kind: str, params: dict, report) -> Job:
    """Run a child job (e.g. generate) inline in this worker; its row shows its own progress."""
    from .jobs import JobCancelled, job_create, job_run

    stage, _ = job_create(kind=kind, params=params, parent=job, created_by=job.created_by, dispatch=False)
    report(phase=f"{kind} stage: job {stage.pk}", force=True)
    job_run(job_id=stage.pk)
    stage.refresh_from_db()
    if stage.status == Job.Status.CANCELLED:
        raise JobCancelled()
    if stage.status != Job.Status.SUCCEEDED:
        raise ApplicationError(f"The {kind} stage (job {stage.pk}) {stage.status}: {stage.error}")
    return stage


def _prompt_ids(*, job: Job, draw: dict, name: str, report) -> list[int]:
    """Prompt ids of a draw spec; drawn prompts are kept in the job's metrics so a re-run uses the same."""
    from annotation.services.prompts import prompts_combine

    if "prompt_ids" in draw:
        return draw["prompt_ids"]
    kept = (job.metrics or {}).get(f"{name}_prompt_ids")
    if kept:
        return kept
    ids = [p.pk for p in prompts_combine(count=draw["count"], seed=draw["seed"])]
    report(metrics={f"{name}_prompt_ids": ids}, force=True)
    job.metrics = {**(job.metrics or {}), f"{name}_prompt_ids": ids}
    return ids


def _generate(*, job: Job, version: ModelVersion, prompt_ids: list[int], seeds: list[int], report) -> list[int]:
    stage = _run_stage(job=job, kind="generate", report=report, params={
        "generator_version": version.pk, "prompt_ids": prompt_ids, "seeds": seeds, "campaign": None, "overrides": {}})
    return stage.result["video_ids"]


def _measure(*, job: Job, version: ModelVersion, critic: ModelVersion, prompt_ids, seeds, report) -> dict:
    from .scoring import scores_compute

    video_ids = _generate(job=job, version=version, prompt_ids=prompt_ids, seeds=seeds, report=report)
    scores_compute(critic=critic, video_ids=video_ids, job=job)
    return heldout_summary(critic=critic, video_ids=video_ids)


def _curve_reporter(*, job: Job, report, out: Path):
    """Engine progress → job progress, loss and reward curves, and checkpoint artifacts.

    Points for steps already on a curve are skipped: after a resume the steps between the last
    checkpoint and the crash run again and give the same values.
    """
    from ..engine.align import list_checkpoints

    curves = (job.metrics or {}).get("curves", {})
    last = {name: max((p[0] for p in curves.get(name, [])), default=-1) for name in ("loss", "reward")}
    seen_checkpoints: list[str] = []

    def on_progress(fraction: float, phase: str, metrics: dict) -> None:
        new = {}
        if phase == "training" and metrics["step"] > last["loss"]:
            new["loss"] = [[metrics["step"], metrics["loss"]]]
            last["loss"] = metrics["step"]
        if phase == "validated" and metrics["step"] > last["reward"]:
            new["reward"] = [[metrics["step"], metrics["mean_reward"]]]
            last["reward"] = metrics["step"]
        checkpoints = [p.name for p in list_checkpoints(out)]
        if checkpoints != seen_checkpoints:
            seen_checkpoints[:] = checkpoints
            _set_artifacts(job=job, out=out)
        step = metrics.get("step")
        report(fraction=fraction, phase=f"{phase} step {step}" if step is not None else phase,
               metrics={"curves": new, "step": step} if new else None)

    return on_progress


def _set_artifacts(*, job: Job, out: Path) -> None:
    from ..engine.align import list_checkpoints

    artifacts = [{"name": p.name, "path": str(p), "kind": "checkpoint"} for p in list_checkpoints(out)]
    for name, kind in (("lora", "adapter"), ("final", "weights"), ("pipeline", "pipeline"),
                       ("validation.json", "validation")):
        if (out / name).exists():
            artifacts.append({"name": name, "path": str(out / name), "kind": kind})
    Job.objects.filter(pk=job.pk).update(artifacts=artifacts)


def _reward_fn(*, params: dict, critic: ModelVersion):
    """The reward the engine maximises (edit_reward) or tracks on held-out prompts (the curve)."""
    if params["objective"] == "edit_reward":
        from ..engine.synthetic import colour_reward_fn

        return colour_reward_fn
    import torch

    from ..engine.critic.data import ScoreItem
    from ..engine.critic.score import score_videos
    from .scoring import _load

    loaded, dims = _load(critic), tuple(critic_dimensions(critic))

    def critic_reward(videos, prompts, metadata=None):
        frames = (videos.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 1, 3, 4, 2).cpu().numpy()
        scores = score_videos(None, [ScoreItem(f, p) for f, p in zip(frames, prompts)], dimensions=dims, critic=loaded)
        return torch.tensor([s.reward for s in scores])

    return critic_reward


def _train(*, job: Job, params: dict, samples, real, heldout_captions, critic, out: Path, report):
    """The engine's align(); its refusals and CUDA out-of-memory fail the job with the reason."""
    import torch

    from ..engine.align import MEMORY_ADVICE, AlignConfig, AlignConfigError, AlignOutOfMemory, align

    config = AlignConfig.from_dict({**params["settings"], "output_dir": str(out), "resume": "latest",
                                    "cache_dir": str(out.parent / "cache")})
    try:
        return align(config, samples, real, reward_fn=_reward_fn(params=params, critic=critic),
                     validation_prompts=heldout_captions, on_progress=_curve_reporter(job=job, report=report, out=out))
    except AlignConfigError as exc:
        raise ApplicationError(f"Alignment refused: {exc.reason}") from exc
    except (AlignOutOfMemory, torch.OutOfMemoryError) as exc:
        raise ApplicationError(f"Out of GPU memory: {MEMORY_ADVICE}.", code="out_of_memory") from exc
    except FloatingPointError as exc:
        raise ApplicationError(f"Training diverged: {exc}") from exc


def _samples(*, critic, snapshot, candidate_ids: list[int], real_ids: list[int], paths: dict, objective: str):
    from ..engine.align import RealClip, ScoredSample
    from .scoring import video_caption

    videos = videos_captioned(video_ids=candidate_ids, what="candidates")
    scores = {} if objective == "edit_reward" else candidate_scores(critic=critic, snapshot=snapshot, videos=videos)
    if objective != "edit_reward" and not scores:
        raise ApplicationError("No scored data: no candidate video has a critic score or a human consensus.",
                               code="no_scored_data")
    samples = [ScoredSample(prompt=video_caption(v), video_path=paths[v.pk],
                            reward=scores[v.pk]["reward"] if v.pk in scores else None,
                            ratings=scores[v.pk]["ratings"] if v.pk in scores else None,
                            metadata={"video_id": v.pk, "source": scores.get(v.pk, {}).get("source")})
               for v in videos if objective == "edit_reward" or v.pk in scores]
    real = [RealClip(prompt=video_caption(v), video_path=paths[v.pk])
            for v in videos_captioned(video_ids=real_ids, what="real")]
    sources = [s.metadata["source"] for s in samples]
    counts = {"candidates": len(candidate_ids), "trained_on": len(samples), "human_rated": sources.count("human"),
              "critic_rated": sources.count("critic"), "real": len(real)}
    return samples, real, counts


def _save_pipeline(*, base: str, transformer_dir: Path, out: Path) -> Path:
    """Full fine-tuning: a loadable pipeline folder with the new transformer and the base's other parts."""
    import shutil

    if out.exists():
        return out
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    if Path(base).is_dir():  # link the frozen parts instead of copying gigabytes of T5 and VAE
        tmp.mkdir(parents=True)
        for part in Path(base).iterdir():
            if part.name != "transformer":
                (tmp / part.name).symlink_to(part.resolve())
        (tmp / "transformer").symlink_to(transformer_dir.resolve())
    else:
        from diffusers import CogVideoXPipeline, CogVideoXTransformer3DModel

        transformer = CogVideoXTransformer3DModel.from_pretrained(transformer_dir)
        CogVideoXPipeline.from_pretrained(base, transformer=transformer).save_pretrained(tmp)
    tmp.rename(out)
    return out


def align_run(*, job: Job, report) -> dict:
    from .scoring import local_video_files, scores_compute
    from .versions import version_register

    params = job.params
    base = ModelVersion.objects.get(pk=params["generator_version"])
    critic = ModelVersion.objects.get(pk=params["critic_version"])
    snapshot = snapshot_ready(snapshot_id=params["snapshot"]) if params.get("snapshot") else None
    out = align_output_dir(job=job)
    heldout = params["heldout"]
    heldout_ids = _prompt_ids(job=job, draw=heldout, name="heldout", report=report)

    candidates = params["candidates"]
    if "generate" in candidates:
        draw = candidates["generate"]
        prompt_ids = _prompt_ids(job=job, draw=draw, name="candidate", report=report)
        report(fraction=0.0, phase="generating candidates", force=True)
        candidate_ids = _generate(job=job, version=base, prompt_ids=prompt_ids, seeds=draw["seeds"], report=report)
    else:
        candidate_ids = candidates["video_ids"]
    if params["objective"] != "edit_reward":
        report(fraction=0.1, phase="scoring candidates", force=True)
        scores_compute(critic=critic, video_ids=candidate_ids, job=job, report=_band(report, 0.1, 0.2))

    report(fraction=0.2, phase="held-out before", force=True)
    before = _measure(job=job, version=base, critic=critic, prompt_ids=heldout_ids, seeds=heldout["seeds"], report=report)
    report(metrics={"heldout_reward_before": before["mean_reward"]}, force=True)

    videos = list(Video.objects.filter(pk__in=[*candidate_ids, *params["real"]]))
    with local_video_files(videos) as paths:
        samples, real, counts = _samples(critic=critic, snapshot=snapshot, candidate_ids=candidate_ids,
                                         real_ids=params["real"], paths=paths, objective=params["objective"])
        captions = [p.caption or p.text for p in Prompt.objects.filter(pk__in=heldout_ids).order_by("pk")]
        result = _train(job=job, params=params, samples=samples, real=real, heldout_captions=captions, critic=critic,
                        out=out, report=_band(report, 0.3, 0.85))

    lora = params["settings"]["lora_rank"] is not None
    new_base = base.base if lora else str(_save_pipeline(base=base.base, transformer_dir=result.final_dir / "transformer",
                                                         out=out / "pipeline"))
    _set_artifacts(job=job, out=out)
    lineage = {
        "base": base.pk, "base_name": base.name, "critic": critic.pk, "critic_dimensions": critic_dimensions(critic),
        "snapshot": snapshot.pk if snapshot else None, "objective": params["objective"],
        "reward_model": params.get("reward_model"), "settings": params["settings"], "job": job.pk, "data": counts,
        "candidate_video_ids": candidate_ids, "real_video_ids": params["real"],
    }
    training = {"steps": result.steps, "final_loss": result.losses[-1] if result.losses else None,
                "weight_info": result.weight_info, "validation": [{"step": v["step"], "mean_reward": v["mean_reward"]}
                                                                  for v in result.validation]}
    version = version_register(
        kind=ModelVersion.Kind.GENERATOR, name=f"{base.name} → aligned (job {job.pk})", base=new_base,
        config=base.config, adapter_path=str(result.final_dir) if lora else "", parent=base, lineage=lineage,
        metrics={"heldout_reward_before": before["mean_reward"], "training": training}, created_by_job=job)

    report(fraction=0.9, phase="held-out after", force=True)
    after = _measure(job=job, version=version, critic=critic, prompt_ids=heldout_ids, seeds=heldout["seeds"], report=report)
    change = heldout_change(before, after)
    metrics = {
        "heldout_reward_before": before["mean_reward"], "heldout_reward_after": after["mean_reward"],
        "heldout_reward_change": change["mean_reward"], "heldout_before": before, "heldout_after": after,
        "heldout_change": change, "heldout_prompt_ids": heldout_ids, "heldout_seeds": heldout["seeds"],
        "training": training,
    }
    ModelVersion.objects.filter(pk=version.pk).update(metrics=metrics)
    report(metrics={"heldout_reward_after": after["mean_reward"], "version": version.pk}, force=True)
    return {"version_id": version.pk, "adapter_path": version.adapter_path, "base": new_base,
            "heldout_reward_before": before["mean_reward"], "heldout_reward_after": after["mean_reward"],
            "improved": (after["mean_reward"] or 0) > (before["mean_reward"] or 0), "data": counts}
