"""Generation: prompts × seeds × generator version → videos, each exactly once per key.

Runs in a GPU worker. The pipeline is loaded once per worker process and kept across tasks.

Into a pairwise campaign the videos go as pairs of one prompt: every two of its seeds, or, with
`compare_version`, the same prompt and seed made by the job's generator (A) and by the compared one (B).
"""
import collections
import contextlib
import hashlib
import itertools
import json
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage

from annotation.models import Campaign, Prompt
from annotation.services.campaigns import campaign_add_pairs, campaign_add_videos
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

    return {"compare_version": ("a second generator version: each prompt and seed is made by both; in a pairwise "
                                "campaign the two videos are a pair (A: generator_version, B: this one), in a rating "
                                "campaign each is rated on its own (how people judge a challenger); without it a "
                                "pairwise campaign gets every two seeds of a prompt as a pair"),
            **{f"overrides.{f.name}": f.metadata["help"] for f in fields(GeneratorSpec)
               if f.name not in ("base", "lora") and "help" in f.metadata}}


def _pairing_validate(*, campaign: Campaign | None, compare_version, version: ModelVersion, seeds: list[int],
                      overrides: dict) -> ModelVersion | None:
    """How the videos are made and paired, checked: a pairwise campaign's pairs of seeds need two seeds at least;
    a compared version must be another generator version, able to take the same overrides."""
    pairwise = campaign is not None and campaign.kind == Campaign.Kind.PAIRWISE
    if compare_version is None:
        if pairwise and len(set(seeds)) < 2:
            raise ApplicationError("A pairwise campaign pairs videos of one prompt: give two seeds or more, or a "
                                   "compare_version to pair the same seed on two generator versions.",
                                   fields={"seeds": "at least two for a pairwise campaign"})
        return None
    other = ModelVersion.objects.filter(pk=compare_version, kind=ModelVersion.Kind.GENERATOR).first() \
        if isinstance(compare_version, int) and not isinstance(compare_version, bool) else None
    if other is None:
        raise ApplicationError("compare_version must name a generator version.", fields={"compare_version": "unknown"})
    if other.pk == version.pk:
        raise ApplicationError("compare_version must differ from generator_version.",
                               fields={"compare_version": "same version"})
    generator_spec(version=other, overrides=overrides)
    return other


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
    campaign_row = Campaign.objects.filter(pk=campaign).first() if campaign is not None else None
    if campaign is not None and campaign_row is None:
        raise ApplicationError("campaign must name an existing campaign.", fields={"campaign": "unknown"})
    overrides = params.get("overrides") or {}
    generator_spec(version=version, overrides=overrides)
    compared = _pairing_validate(campaign=campaign_row, compare_version=params.get("compare_version"),
                                 version=version, seeds=seeds, overrides=overrides)
    if compared is not None and (len(prompt_ids) + (combine["count"] if combine else 0)) * len(seeds) > 50_000:
        raise ApplicationError("At most 100000 videos per job (50000 per version when comparing two); split the request.")
    expander = expander_config_validate(params.get("expander"))
    cleaned = {"generator_version": version.pk, "prompt_ids": sorted(set(prompt_ids)), "seeds": sorted(set(seeds)),
               "campaign": campaign, "overrides": overrides, "expander": expander}
    if compared is not None:  # only when given: the params of other jobs stay as they were
        cleaned["compare_version"] = compared.pk
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


# Videos encoded at once while the next is generated: ffmpeg runs as its own process, so a fast generator
# (the synthetic world) overlaps several; a GPU one is slower than one encoder anyway.
ENCODERS = 3


@dataclass
class _Rendered:
    """A generated video whose encoding may still be running; registered in order by `register_rendered`."""

    index: int
    version: ModelVersion
    prompt: Prompt
    seed: int
    key: str
    params: dict
    stored: Future


class _CampaignFiller:
    """Puts each registered video into the campaign: as an item of a rating campaign, or into the pairs it
    completes in a pairwise one (every two seeds of a prompt, or one prompt and seed on the two versions).
    Adding is idempotent, so a re-run that reuses its videos adds nothing twice."""

    def __init__(self, campaign: Campaign | None, *, own: ModelVersion, seeds: list[int],
                 compared: ModelVersion | None):
        self.campaign, self.own, self.seeds, self.compared = campaign, own.pk, seeds, compared
        self.made: dict[tuple[int, int, int], int] = {}  # (version, prompt, seed) -> video
        self.pairs: list[list[int]] = []

    def add(self, *, version: ModelVersion, prompt: Prompt, seed: int, video_id: int) -> None:
        if self.campaign is None:
            return
        if self.campaign.kind != Campaign.Kind.PAIRWISE:
            campaign_add_videos(campaign=self.campaign, video_ids=[video_id])
            return
        self.made[(version.pk, prompt.pk, seed)] = video_id
        if self.compared is not None:
            # The job's own version made A of this prompt and seed before the compared one makes B.
            a = self.made.get((self.own, prompt.pk, seed)) if version.pk == self.compared.pk else None
            pairs = [(a, video_id)] if a is not None else []
        else:
            pairs = [(self.made[(version.pk, prompt.pk, a)], self.made[(version.pk, prompt.pk, b)])
                     for a, b in itertools.combinations(self.seeds, 2) if seed in (a, b)
                     and (version.pk, prompt.pk, a) in self.made and (version.pk, prompt.pk, b) in self.made]
        if pairs:
            campaign_add_pairs(campaign=self.campaign, pairs=pairs)
            self.pairs.extend([a, b] for a, b in pairs)


def generate_run(*, job: Job, report) -> dict:
    params = job.params
    version = ModelVersion.objects.get(pk=params["generator_version"])
    compared = ModelVersion.objects.get(pk=params["compare_version"]) if params.get("compare_version") else None
    specs = {v.pk: generator_spec(version=v, overrides=params.get("overrides")) for v in filter(None, (version, compared))}
    prompts = list(Prompt.objects.filter(pk__in=params["prompt_ids"]).order_by("pk"))
    # All of the job's own version first, then the compared one's: one pipeline load each.
    tasks = [(v, prompt, seed) for v in filter(None, (version, compared)) for prompt in prompts for seed in params["seeds"]]
    campaign = Campaign.objects.filter(pk=params.get("campaign")).first() if params.get("campaign") else None
    filler = _CampaignFiller(campaign, own=version, seeds=params["seeds"], compared=compared)
    expander, pipe, pipe_version = None, None, None
    video_ids, generated = [], 0

    def register(index: int, made_by: ModelVersion, prompt: Prompt, seed: int, video) -> None:
        filler.add(version=made_by, prompt=prompt, seed=seed, video_id=video.pk)
        video_ids.append(video.pk)
        # Reporting is also where a cancel request surfaces: the job stops after the current video.
        report(fraction=(index + 1) / len(tasks), phase=f"video {index + 1}/{len(tasks)}",
               log=f"video {video.pk} for prompt {prompt.pk} seed {seed}", force=True)

    def register_rendered(item: _Rendered) -> None:
        video = video_create(prompt=item.prompt, source="generated", generator=f"generator:{item.version.pk}",
                             generation_key=item.key, seed=item.seed, params=item.params, **item.stored.result())[0]
        register(item.index, item.version, item.prompt, item.seed, video)

    # Generated videos being encoded, oldest first; each row is written in order once its files are stored.
    pending: collections.deque[_Rendered] = collections.deque()
    with ThreadPoolExecutor(max_workers=ENCODERS, thread_name_prefix="encode") as encoder:
        try:
            for index, (made_by, prompt, seed) in enumerate(tasks):
                spec = specs[made_by.pk]
                key = generation_key(prompt_id=prompt.pk, seed=seed, version_id=made_by.pk, spec=spec)
                video = video_find_generated(generation_key=key)  # done before (a re-run or a retry): skip it
                if video is not None:
                    while pending:
                        register_rendered(pending.popleft())
                    register(index, made_by, prompt, seed, video)
                    continue
                if not prompt.caption:
                    expander = expander or _expander(params.get("expander", "template"))
                    prompt = prompt_set_caption(prompt=prompt, caption=expander.expand(prompt.text))
                if pipe is None or pipe_version != made_by.pk:
                    report(phase="loading model", log=f"loading {made_by.base}", force=True)
                    pipe, pipe_version = _pipelines().get(spec), made_by.pk
                frames = _generate_frames(pipe=pipe, spec=spec, prompt=prompt, seed=seed, index=index,
                                          total=len(tasks), report=report)
                pending.append(_Rendered(index=index, version=made_by, prompt=prompt, seed=seed, key=key,
                                         params=_video_params(job=job, version=made_by, prompt=prompt, spec=spec,
                                                              pipe=pipe, seed=seed),
                                         stored=encoder.submit(_encode_and_store, frames=frames, key=key, fps=spec.fps)))
                generated += 1
                if len(pending) > ENCODERS:
                    register_rendered(pending.popleft())
            while pending:
                register_rendered(pending.popleft())
        finally:
            # A cancel (or an error) while later videos were generating: keep the ones already finished, in order.
            while pending and pending[0].stored.exception() is None:
                with contextlib.suppress(JobCancelled):
                    register_rendered(pending.popleft())
    result = {"video_ids": video_ids, "generated": generated, "reused": len(tasks) - generated}
    if campaign is not None and campaign.kind == Campaign.Kind.PAIRWISE:
        result["pairs"] = filler.pairs  # [A, B] video ids, as the campaign's items
    return result


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
