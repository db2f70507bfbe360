"""The align job: a generator version and a critic → a new, measured generator version.

    candidates (generate N prompts × M seeds, or existing scored videos) → critic scores (human
    consensus from a snapshot wins where it exists) → held-out "before" → training (engine `align`,
    resumed from the latest checkpoint) → new version (parent = base) → held-out "after" → metrics

Every stage can run again after a killed worker: drawn prompts are kept in the job's metrics, videos
are keyed by generation, scores are stored once, training resumes from `checkpoint-{step}/`, and the
version is registered under a name made from the job id. The params are checked before the job is
queued (`align_params.py`).
"""
from pathlib import Path

from django.conf import settings

from annotation.models import CampaignItem, Prompt, Video
from lift.api_errors import ApplicationError

from ..models import Job, ModelVersion
from ..selectors import critic_dimensions, is_preference_critic
from .align_data import (candidate_scores, heldout_change, heldout_summary, snapshot_preferences, snapshot_ready,
                         videos_captioned)
from .jobs import job_artifacts_set


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


def drawn_prompt_ids(*, job: Job, draw: dict, name: str, report) -> list[int]:
    """Prompt ids of a draw spec. The bank gives the same prompts for the same (count, seed), so rounds
    that name one held-out draw are measured on one set; the ids are also kept in the job's metrics."""
    from annotation.services.prompts import prompts_combine

    if "prompt_ids" in draw:
        return draw["prompt_ids"]
    ids = [p.pk for p in prompts_combine(count=draw["count"], seed=draw["seed"])]
    report(metrics={f"{name}_prompt_ids": ids}, force=True)
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


def _end_reward_curve(*, job: Job, report, step: int, reward: float) -> None:
    """The reward curve's last point is the held-out "after" measure: the final weights' samples at the validation
    seeds, which the engine would otherwise generate a second time (the job sets validate_at_end off). It is read
    through the stored videos, the points before it from frames in memory. Once only: a retried job measures again."""
    curve = (Job.objects.get(pk=job.pk).metrics or {}).get("curves", {}).get("reward", [])
    if not curve or curve[-1][0] < step:
        report(metrics={"curves": {"reward": [[step, reward]]}}, force=True)


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
            if "preference_accuracy" in metrics:  # dpo: the share of pairs the policy ranks as people (or the critic) did
                new["preference_accuracy"] = [[metrics["step"], metrics["preference_accuracy"]]]
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


def _set_artifacts(*, job: Job, out: Path, heldout: dict | None = None) -> None:
    """Checkpoints, adapter or weights, validation curve and, at the end, the held-out videos."""
    from ..engine.training.artifacts import artifact, checkpoint_artifacts, existing_artifacts

    artifacts = checkpoint_artifacts(out) + existing_artifacts(out, (
        ("lora", "adapter"), ("final", "weights"), ("pipeline", "pipeline"), ("validation.json", "validation")))
    for side, summary in (heldout or {}).items():
        for video in Video.objects.filter(pk__in=summary["videos"]).order_by("pk"):
            artifacts.append(artifact(f"heldout-{side}-video-{video.pk}", video.file.name, "video"))
    job_artifacts_set(job=job, artifacts=artifacts)


def _reward_hacking(change: dict) -> bool | None:
    """The critic's held-out reward rose while the judge's did not (None where there is no judge)."""
    if change.get("judged_mean_reward") is None or change.get("mean_reward") is None:
        return None
    return change["mean_reward"] > 0 and change["judged_mean_reward"] <= 0


def _reward_spec(*, params: dict, critic: ModelVersion) -> dict:
    """What the engine maximises (edit_reward: the reward_model) or tracks on held-out prompts (the critic)."""
    from .scoring import critic_directory

    critic_spec = {"critic_dir": critic_directory(critic), "dimensions": critic_dimensions(critic)}
    if is_preference_critic(critic) and params["objective"] != "edit_reward":
        return {"kind": "preference_critic", "critic_dir": critic_spec["critic_dir"]}
    if params["objective"] != "edit_reward":
        return {"kind": "critic", **critic_spec, "offload": params["settings"].get("offload_critic")}
    model = params.get("reward_model")
    if model == "critic":
        return {"kind": "critic_edit", **critic_spec}
    if isinstance(model, dict):
        return {"kind": "image_text", "id_or_path": model["image_text"]}
    return {"kind": "synthetic_colour"}


def _reward_fn(*, params: dict, critic: ModelVersion):
    from ..engine.rewards import reward_from_spec
    from .scoring import critic_loaded, scoring_device

    spec = _reward_spec(params=params, critic=critic)
    loaded = critic_loaded(critic) if spec["kind"] in ("critic", "critic_edit", "preference_critic") else None
    return reward_from_spec(spec, scoring_device(), critic=loaded)


def _train(*, job: Job, params: dict, samples, real, pairs, heldout_captions, critic, out: Path, report):
    """The engine's align(); its refusals and CUDA out-of-memory fail the job with the reason."""
    import torch

    from ..engine.align import MEMORY_ADVICE, AlignConfig, AlignConfigError, AlignOutOfMemory, align

    from .distributed import align_in_child, train_processes

    config = AlignConfig.from_dict({**params["settings"], "output_dir": str(out), "resume": "latest",
                                    "cache_dir": str(out.parent / "cache")})
    on_progress = _curve_reporter(job=job, report=report, out=out)
    try:
        processes = train_processes()
        if processes > 1:  # a torchrun child process group, one rank per GPU
            from ..engine.align import check_inputs
            from .scoring import release_loaded_critic

            check_inputs(config, samples, real, lambda *a: None, heldout_captions, pairs)  # refusals before any launch
            release_loaded_critic()  # the ranks load their own; the GPU memory is theirs
            return align_in_child(job=job, config=config, samples=samples, real=real, pairs=pairs,
                                  validation_prompts=heldout_captions,
                                  reward=_reward_spec(params=params, critic=critic), on_progress=on_progress,
                                  processes=processes)
        return align(config, samples, real, pairs=pairs, reward_fn=_reward_fn(params=params, critic=critic),
                     validation_prompts=heldout_captions, on_progress=on_progress)
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
    if objective != "dpo":
        return samples, real, [], counts
    from ..engine.align import pairs_from_scores

    pairs = pairs_from_scores(samples)  # per prompt, the best-scored sample against the worst
    if not pairs:
        raise ApplicationError("No preference pairs: no prompt has two candidates with different scores.",
                               code="no_scored_data")
    return [], [], pairs, {**counts, "trained_on": 2 * len(pairs), "pairs": len(pairs), "real": 0}


def _human_pairs(*, preferences: list[dict], items: dict, paths: dict):
    """DPO pairs from people's comparisons: each pair's preferred video against the other."""
    from ..engine.align import PreferencePair, VideoSource
    from .scoring import video_caption

    pairs = []
    for preference in preferences:
        item = items[preference["item"]]
        better, worse = (item.video, item.video_b) if preference["preferred"] == "A" else (item.video_b, item.video)
        pairs.append(PreferencePair(prompt=video_caption(item.video), preferred=VideoSource(video_path=paths[better.pk]),
                                    rejected=VideoSource(video_path=paths[worse.pk]),
                                    metadata={"item": item.pk, "consensus": preference["consensus"]}))
    return pairs


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
    from .registry import version_register

    params = job.params
    base = ModelVersion.objects.get(pk=params["generator_version"])
    baseline = ModelVersion.objects.get(pk=params.get("baseline_version") or base.pk)  # what "before" measures
    critic = ModelVersion.objects.get(pk=params["critic_version"])
    snapshot = snapshot_ready(snapshot_id=params["snapshot"]) if params.get("snapshot") else None
    out = align_output_dir(job=job)
    heldout = params["heldout"]
    heldout_ids = drawn_prompt_ids(job=job, draw=heldout, name="heldout", report=report)

    candidates = params["candidates"] or {"video_ids": []}  # none when people's pairs are the data
    preferences = snapshot_preferences(snapshot=snapshot) if params.get("pairs") == "snapshot" else []
    items = CampaignItem.objects.select_related("video__prompt", "video_b").in_bulk([p["item"] for p in preferences])
    if "generate" in candidates:
        draw = candidates["generate"]
        prompt_ids = drawn_prompt_ids(job=job, draw=draw, name="candidate", report=report)
        report(fraction=0.0, phase="generating candidates", force=True)
        candidate_ids = _generate(job=job, version=base, prompt_ids=prompt_ids, seeds=draw["seeds"], report=report)
    else:
        candidate_ids = candidates["video_ids"]
    trained_prompts = set(Video.objects.filter(pk__in=candidate_ids).values_list("prompt_id", flat=True))
    trained_prompts |= {item.video.prompt_id for item in items.values()}
    if shared := sorted(trained_prompts & set(heldout_ids)):
        raise ApplicationError(f"Held-out prompts {shared[:10]} are also candidates' prompts; held out means unseen.")
    if params["objective"] != "edit_reward" and candidate_ids:
        report(fraction=0.1, phase="scoring candidates", force=True)
        scores_compute(critic=critic, video_ids=candidate_ids, job=job, report=_band(report, 0.1, 0.2))

    report(fraction=0.2, phase="held-out before", force=True)
    before = _measure(job=job, version=baseline, critic=critic, prompt_ids=heldout_ids, seeds=heldout["seeds"], report=report)
    report(metrics={"heldout_reward_before": before["mean_reward"]}, force=True)

    compared = [video for item in items.values() for video in (item.video, item.video_b)]
    videos = list(Video.objects.filter(pk__in=[*candidate_ids, *params["real"]])) + compared
    with local_video_files(videos) as paths:
        if preferences:
            samples, real, pairs = [], [], _human_pairs(preferences=preferences, items=items, paths=paths)
            counts = {"candidates": 0, "trained_on": 2 * len(pairs), "pairs": len(pairs), "human_pairs": len(pairs),
                      "real": 0}
        else:
            samples, real, pairs, counts = _samples(critic=critic, snapshot=snapshot, candidate_ids=candidate_ids,
                                                    real_ids=params["real"], paths=paths, objective=params["objective"])
        captions = [p.caption or p.text for p in Prompt.objects.filter(pk__in=heldout_ids).order_by("pk")]
        result = _train(job=job, params=params, samples=samples, real=real, pairs=pairs, heldout_captions=captions,
                        critic=critic, out=out, report=_band(report, 0.3, 0.85))

    lora = params["settings"]["lora_rank"] is not None
    new_base = base.base if lora else str(_save_pipeline(base=base.base, transformer_dir=result.final_dir / "transformer",
                                                         out=out / "pipeline"))
    _set_artifacts(job=job, out=out)
    lineage = {
        "base": base.pk, "base_name": base.name, "critic": critic.pk, "critic_dimensions": critic_dimensions(critic),
        "snapshot": snapshot.pk if snapshot else None, "objective": params["objective"],
        "reward_model": params.get("reward_model"), "settings": params["settings"], "job": job.pk, "data": counts,
        "candidate_video_ids": candidate_ids, "real_video_ids": params["real"], "baseline": baseline.pk,
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
    _end_reward_curve(job=job, report=report, step=result.steps, reward=after["mean_reward"])
    training["validation"].append({"step": result.steps, "mean_reward": after["mean_reward"]})
    change = heldout_change(before, after)
    metrics = {
        "heldout_reward_before": before["mean_reward"], "heldout_reward_after": after["mean_reward"],
        "heldout_reward_change": change["mean_reward"], "heldout_before": before, "heldout_after": after,
        "heldout_change": change, "heldout_prompt_ids": heldout_ids, "heldout_seeds": heldout["seeds"],
        "heldout_baseline_version": baseline.pk, "training": training,
        # The pixel judge on the same held-out videos (synthetic world only): the critic's reward rising while
        # this does not is the generator learning the critic's blind spots, not the world.
        "heldout_judged_before": (before.get("judged") or {}).get("mean_reward"),
        "heldout_judged_after": (after.get("judged") or {}).get("mean_reward"),
        "reward_hacking": _reward_hacking(change),
    }
    ModelVersion.objects.filter(pk=version.pk).update(metrics=metrics)
    _set_artifacts(job=job, out=out, heldout={"before": before, "after": after})
    report(metrics={"heldout_reward_after": after["mean_reward"], "version": version.pk}, force=True)
    return {"version_id": version.pk, "adapter_path": version.adapter_path, "base": new_base,
            "heldout_reward_before": before["mean_reward"], "heldout_reward_after": after["mean_reward"],
            "heldout_judged_before": metrics["heldout_judged_before"], "heldout_judged_after": metrics["heldout_judged_after"],
            "improved": (after["mean_reward"] or 0) > (before["mean_reward"] or 0), "data": counts}
