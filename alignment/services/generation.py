"""Generation: prompts × seeds × generator version → videos, each exactly once per key.

Runs in a GPU worker. The pipeline is loaded once per worker process and kept across tasks.
"""
import contextlib
import hashlib
import json
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage

from annotation.models import Campaign, Prompt
from annotation.services.campaigns import campaign_add_videos
from annotation.services.prompts import prompt_set_caption, prompts_combine, prompts_combine_check
from annotation.services.videos import video_create, video_find_generated
from lift.api_errors import ApplicationError

from ..models import Job, ModelVersion
from .jobs import JobCancelled

_PIPELINES = None  # engine.generation.PipelineCache, created on first use in the worker


def generator_spec(*, version: ModelVersion, overrides: dict | None = None):
    """The engine's GeneratorSpec for a version, with per-job overrides; refused with the reason if invalid."""
    from ..engine.generation import GeneratorSpec, InvalidRequest, read_limits, validate_request

    settings = {**(version.config or {}), **(overrides or {}), "base": version.base}
    if version.adapter_path:
        settings["lora"] = version.adapter_path
    try:
        spec = GeneratorSpec.from_dict(settings)
        spec.validate()
        validate_request(read_limits(spec.base), spec)
    except (InvalidRequest, ValueError, OSError) as exc:
        raise ApplicationError(f"Generator {version.name}: {exc}", code="invalid_generation_request") from exc
    return spec


def generation_key(*, prompt_id: int, seed: int, version_id: int, spec) -> str:
    settings = spec.to_dict()
    for name in ("vae_tiling", "vae_slicing"):  # None (by size) hashes as False, the default before it, so an
        if settings.get(name) is None:            # upgrade does not make again the videos that exist
            settings[name] = False
    payload = json.dumps([prompt_id, seed, version_id, settings], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _combine_validate(combine) -> dict | None:
    """A prompt-bank draw asked for with the job: {count, seed, categories?}, checked before anything is drawn."""
    if combine in (None, {}):
        return None
    if not isinstance(combine, dict) or (unknown := set(combine) - {"count", "seed", "categories"}):
        raise ApplicationError("combine must be an object with count, seed and optional categories.",
                               fields={"combine": sorted(unknown) if isinstance(combine, dict) else "invalid"})
    count, seed, names = prompts_combine_check(count=combine.get("count"), seed=combine.get("seed"),
                                               category_names=combine.get("categories"))
    return {"count": count, "seed": seed, "categories": names}


def generate_params_help() -> dict[str, str]:
    """What `overrides` may change of the generator version's settings: the engine spec's own help."""
    from dataclasses import fields

    from ..engine.generation import GeneratorSpec

    return {f"overrides.{f.name}": f.metadata["help"] for f in fields(GeneratorSpec)
            if f.name not in ("base", "lora") and "help" in f.metadata}


def generate_params_validate(*, params: dict) -> dict:
    """Checked in the web process before anything is queued (no torch imported here).

    A prompt-bank draw (`combine`) happens last, once everything else is known to be right, so a
    refused request draws nothing; the job then names the exact prompts it drew. The same draw
    returns the same prompts, so repeating a request finds the job it started.
    """
    from .expansion import expander_config_validate

    version = ModelVersion.objects.filter(pk=params.get("generator_version"), kind=ModelVersion.Kind.GENERATOR).first()
    if version is None:
        raise ApplicationError("generator_version must name a generator version.", fields={"generator_version": "unknown"})
    combine = _combine_validate(params.get("combine"))
    prompt_ids = params.get("prompt_ids") or []
    if not isinstance(prompt_ids, list) or not all(isinstance(p, int) for p in prompt_ids):
        raise ApplicationError("prompt_ids must be a list of prompt ids.", fields={"prompt_ids": "invalid"})
    if not prompt_ids and combine is None:
        raise ApplicationError("Name prompt_ids, or draw prompts from the bank with combine: {count, seed}.",
                               fields={"prompt_ids": "required"})
    found = set(Prompt.objects.filter(pk__in=prompt_ids).values_list("pk", flat=True))
    if missing := [p for p in prompt_ids if p not in found]:
        raise ApplicationError(f"Unknown prompt ids: {missing[:10]}", fields={"prompt_ids": missing[:10]})
    seeds = params.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise ApplicationError("seeds must be a non-empty list of non-negative integers.", fields={"seeds": "invalid"})
    if (len(prompt_ids) + (combine["count"] if combine else 0)) * len(seeds) > 100_000:
        raise ApplicationError("At most 100000 videos per job; split the request.")
    campaign = params.get("campaign")
    if campaign is not None and not Campaign.objects.filter(pk=campaign).exists():
        raise ApplicationError("campaign must name an existing campaign.", fields={"campaign": "unknown"})
    overrides = params.get("overrides") or {}
    generator_spec(version=version, overrides=overrides)
    expander = expander_config_validate(params.get("expander"))
    cleaned = {"generator_version": version.pk, "prompt_ids": sorted(set(prompt_ids)), "seeds": sorted(set(seeds)),
               "campaign": campaign, "overrides": overrides, "expander": expander}
    if combine is not None:
        drawn = prompts_combine(count=combine["count"], seed=combine["seed"], category_names=combine["categories"])
        cleaned.update(combine=combine, prompt_ids=sorted({*cleaned["prompt_ids"], *(p.pk for p in drawn)}))
    return cleaned


def generation_launch(*, generator_version: int, seeds: list[int], prompt_ids: list[int] | None = None,
                      combine: dict | None = None, campaign: int | None = None, overrides: dict | None = None,
                      created_by=None) -> tuple[Job, bool]:
    """Fill a campaign from the prompt bank with one job: named prompts and/or a draw, then generate."""
    from .jobs import job_create

    params = {"generator_version": generator_version, "prompt_ids": list(prompt_ids or []), "seeds": seeds,
              "campaign": campaign, "overrides": overrides or {}}
    if combine:
        params["combine"] = combine
    return job_create(kind=Job.Kind.GENERATE, created_by=created_by, params=params)


def _pipelines():
    global _PIPELINES
    if _PIPELINES is None:
        from ..engine.generation import PipelineCache

        _PIPELINES = PipelineCache(capacity=1)
    return _PIPELINES


def _expander(config: str | dict):
    from ..engine.expand import expander_from_config

    return expander_from_config(config)


def _store(local: Path, name: str) -> str:
    # The same key always writes the same name: a re-run replaces a half-finished file, never adds one.
    if default_storage.exists(name):
        default_storage.delete(name)
    with open(local, "rb") as handle:
        return default_storage.save(name, File(handle))


def _provenance(*, job: Job, version: ModelVersion, prompt: Prompt, spec) -> dict:
    """What made a video, kept with it: the prompt and its draw, the generator version, the settings."""
    return {"spec": spec.to_dict(), "caption": prompt.caption, "prompt_text": prompt.text,
            "combination_seed": prompt.combination_seed, "prompt_categories": prompt.categories,
            "prompt_source": prompt.source, "combine": job.params.get("combine"),
            "expander": job.params.get("expander", "template"), "job": job.pk,
            "generator_version": {"id": version.pk, "name": version.name, "base": version.base,
                                  "adapter": version.adapter_path or None}}


def _encode_and_store(*, frames, key: str, fps: float) -> dict:
    """Encoding, poster, checksum and storage of one video: no database, so it can run on the encoder thread
    while the pipeline already generates the next video (ffmpeg is a separate process, the GPU stays busy)."""
    from ..engine import video_io

    with tempfile.TemporaryDirectory() as tmp:
        video_path, poster_path = Path(tmp) / f"{key}.mp4", Path(tmp) / f"{key}.jpg"
        info = video_io.encode_video(frames, video_path, fps=fps)
        video_io.write_poster(frames, poster_path)
        sha = video_io.sha256_file(video_path)
        file_name = _store(video_path, f"videos/generated/{key}.mp4")
        poster_name = _store(poster_path, f"posters/generated/{key}.jpg")
    return {"file_name": file_name, "poster_name": poster_name, "info": info.to_dict(), "sha256": sha}


@dataclass
class _Rendered:
    """A generated video whose encoding may still be running; registered in order by `_register`."""

    index: int
    prompt: Prompt
    seed: int
    key: str
    params: dict
    stored: Future


def generate_run(*, job: Job, report) -> dict:
    params = job.params
    version = ModelVersion.objects.get(pk=params["generator_version"])
    spec = generator_spec(version=version, overrides=params.get("overrides"))
    prompts = list(Prompt.objects.filter(pk__in=params["prompt_ids"]).order_by("pk"))
    pairs = [(prompt, seed) for prompt in prompts for seed in params["seeds"]]
    campaign = Campaign.objects.filter(pk=params.get("campaign")).first() if params.get("campaign") else None
    expander, pipe = None, None
    video_ids, generated = [], 0

    def register(index: int, prompt: Prompt, seed: int, video) -> None:
        if campaign is not None:
            campaign_add_videos(campaign=campaign, video_ids=[video.pk])
        video_ids.append(video.pk)
        # Reporting is also where a cancel request surfaces: the job stops after the current video.
        report(fraction=(index + 1) / len(pairs), phase=f"video {index + 1}/{len(pairs)}",
               log=f"video {video.pk} for prompt {prompt.pk} seed {seed}", force=True)

    def register_rendered(item: _Rendered) -> None:
        video = video_create(prompt=item.prompt, source="generated", generator=f"generator:{version.pk}",
                             generation_key=item.key, seed=item.seed, params=item.params, **item.stored.result())[0]
        register(item.index, item.prompt, item.seed, video)

    pending: _Rendered | None = None  # generated, being encoded; its row is written before the next one's
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="encode") as encoder:
        try:
            for index, (prompt, seed) in enumerate(pairs):
                key = generation_key(prompt_id=prompt.pk, seed=seed, version_id=version.pk, spec=spec)
                video = video_find_generated(generation_key=key)  # done before (a re-run or a retry): skip it
                if video is not None:
                    if pending is not None:
                        previous, pending = pending, None
                        register_rendered(previous)
                    register(index, prompt, seed, video)
                    continue
                if not prompt.caption:
                    expander = expander or _expander(params.get("expander", "template"))
                    prompt = prompt_set_caption(prompt=prompt, caption=expander.expand(prompt.text))
                if pipe is None:
                    report(phase="loading model", log=f"loading {version.base}", force=True)
                    pipe = _pipelines().get(spec)
                frames = _generate_frames(pipe=pipe, spec=spec, prompt=prompt, seed=seed, index=index,
                                          total=len(pairs), report=report)
                rendered = _Rendered(index=index, prompt=prompt, seed=seed, key=key,
                                     params=_video_params(job=job, version=version, prompt=prompt, spec=spec,
                                                          pipe=pipe, seed=seed),
                                     stored=encoder.submit(_encode_and_store, frames=frames, key=key, fps=spec.fps))
                generated += 1
                previous, pending = pending, rendered
                if previous is not None:
                    register_rendered(previous)
            if pending is not None:
                last, pending = pending, None
                register_rendered(last)
        finally:
            # A cancel (or an error) while the next video was generating: the previous one is finished, keep it.
            if pending is not None and pending.stored.exception() is None:
                with contextlib.suppress(JobCancelled):
                    register_rendered(pending)
    return {"video_ids": video_ids, "generated": generated, "reused": len(pairs) - generated}


def _generate_frames(*, pipe, spec, prompt: Prompt, seed: int, index: int, total: int, report):
    from ..engine import generation

    def on_progress(fraction, phase):
        report(fraction=(index + fraction) / total, phase=f"video {index + 1}/{total}: {phase}")

    return generation.generate(pipe, prompt.caption or prompt.text, seed, spec, on_progress=on_progress)


def _video_params(*, job: Job, version: ModelVersion, prompt: Prompt, spec, pipe, seed: int) -> dict:
    from ..engine.synthetic.generator import SyntheticGenerator

    params = _provenance(job=job, version=version, prompt=prompt, spec=spec)
    if isinstance(pipe, SyntheticGenerator):  # the world's truth, for simulated annotators and tests
        params["synthetic_truth"] = pipe.truth(prompt.caption or prompt.text, seed).to_dict()
    return params
