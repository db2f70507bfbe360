"""Critic scores: the `score` job, and scoring videos with a critic version (once per video × critic ×
dimension). Reading them back: `selectors.video_rewards`.

Runs in a GPU worker; the critic is loaded once per worker process and kept across jobs.
"""
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from django.db import transaction

from annotation.models import Campaign, CampaignItem, Video
from lift.api_errors import ApplicationError

from ..models import Job, ModelVersion, VideoScore
from ..selectors import active_version, critic_dimensions, is_preference_critic, scored_video_ids

SCORE_BATCH_VIDEOS = 8  # videos per engine call: one progress report and one DB write each
_LOADED_CRITIC: dict = {}  # {"dir": str, "critic": (model, tokenizer, meta)}
MAX_SCORE_VIDEOS = 100_000


def critic_directory(critic: ModelVersion) -> str:
    """Where the critic's transformers directory is: a trained critic's own folder, else its base."""
    return (critic.config or {}).get("critic_dir") or critic.base


def require_critic(critic_id) -> ModelVersion:
    """The critic version named by `critic_id`, or the active critic when it is None."""
    if critic_id is None:
        critic = active_version(kind=ModelVersion.Kind.CRITIC)
        if critic is None:
            raise ApplicationError("There is no active critic; name a critic version.", fields={"critic": "required"})
        return critic
    critic = ModelVersion.objects.filter(pk=critic_id, kind=ModelVersion.Kind.CRITIC).first() if isinstance(critic_id, int) else None
    if critic is None:
        raise ApplicationError("critic must name a critic version.", fields={"critic": "unknown"})
    return critic


def score_params_validate(*, params: dict) -> dict:
    """critic (default: the active one, pinned here so the job is reproducible), video_ids and/or campaign."""
    critic = require_critic(params.get("critic"))
    video_ids = params.get("video_ids") or []
    if not isinstance(video_ids, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in video_ids):
        raise ApplicationError("video_ids must be a list of video ids.", fields={"video_ids": "invalid"})
    if len(video_ids) > MAX_SCORE_VIDEOS:
        raise ApplicationError(f"At most {MAX_SCORE_VIDEOS} videos per job; split the request.")
    found = set(Video.objects.filter(pk__in=video_ids).values_list("pk", flat=True))
    if missing := [v for v in video_ids if v not in found]:
        raise ApplicationError(f"Unknown video ids: {missing[:10]}", fields={"video_ids": missing[:10]})
    campaign = params.get("campaign")
    if campaign is not None and (not isinstance(campaign, int) or not Campaign.objects.filter(pk=campaign).exists()):
        raise ApplicationError("campaign must name an existing campaign.", fields={"campaign": "unknown"})
    if not video_ids and campaign is None:
        raise ApplicationError("Name video_ids or a campaign to score.", fields={"video_ids": "required"})
    with_reasons = params.get("with_reasons", False)
    if not isinstance(with_reasons, bool):
        raise ApplicationError("with_reasons must be true or false.", fields={"with_reasons": "invalid"})
    return {"critic": critic.pk, "video_ids": sorted(set(video_ids)), "campaign": campaign, "with_reasons": with_reasons}


def score_run(*, job: Job, report) -> dict:
    """The `score` job: the videos named and the campaign's; an active critic then re-orders the campaign."""
    from .active_learning import campaign_prioritise_by_uncertainty, critic_disagreements

    params = job.params
    critic = ModelVersion.objects.get(pk=params["critic"])
    campaign = Campaign.objects.filter(pk=params["campaign"]).first() if params.get("campaign") else None
    video_ids = list(params.get("video_ids") or [])
    if campaign is not None:
        video_ids += list(CampaignItem.objects.filter(campaign=campaign).order_by("pk").values_list("video_id", flat=True))
    summary = scores_compute(critic=critic, video_ids=video_ids, report=report, job=job,
                             with_reasons=params.get("with_reasons", False))
    if campaign is not None and critic.is_active:
        summary["reprioritised"] = campaign_prioritise_by_uncertainty(campaign=campaign, critic=critic)
        summary["disagreements"] = len(critic_disagreements(campaign=campaign, critic=critic))
    return summary


def scoring_device() -> str:
    """The GPU when the worker has one (gpu queue), else the CPU."""
    from ..engine.training.device import resolve_device

    return resolve_device("auto")


def critic_loaded(critic: ModelVersion):
    """(model, tokenizer, meta) of the critic, loaded once per worker process and kept across jobs."""
    from ..engine.critic.pairwise import load_preference_critic
    from ..engine.critic.spec import load_critic

    directory = critic_directory(critic)
    if _LOADED_CRITIC.get("dir") != directory:
        _LOADED_CRITIC.clear()
        load = load_preference_critic if is_preference_critic(critic) else load_critic
        try:
            _LOADED_CRITIC["critic"] = load(directory, device=scoring_device())
        except OSError as exc:
            raise ApplicationError(f"Critic {critic.name} cannot be loaded from {directory}: {exc}",
                                   code="critic_unloadable") from exc
        _LOADED_CRITIC["dir"] = directory
    _LOADED_CRITIC["critic"][0].to(scoring_device())  # back from the CPU if an align job parked it there
    return _LOADED_CRITIC["critic"]


def release_loaded_critic() -> None:
    """Drop this worker's loaded critic (and its GPU memory); the next score loads it again."""
    _LOADED_CRITIC.clear()
    from ..engine.generation import _release_accelerator_memory

    _release_accelerator_memory()


def video_local_path(video: Video, spill_dir: Path) -> str:
    """A local path of the video's file; files on remote storage (S3) are copied into spill_dir first."""
    try:
        return video.file.path
    except NotImplementedError:
        spill_dir.mkdir(parents=True, exist_ok=True)
        local = spill_dir / f"{video.pk}{Path(video.file.name).suffix or '.mp4'}"
        with video.file.open("rb") as source, open(local, "wb") as target:
            shutil.copyfileobj(source, target)
        return str(local)


@contextmanager
def local_video_files(videos: list[Video]):
    """{video id: local path}, copies of remote files removed afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix="lift-score-"))
    try:
        yield {video.pk: video_local_path(video, tmp) for video in videos}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def video_caption(video: Video) -> str:
    prompt = video.prompt
    caption = (prompt.caption or prompt.text) if prompt else ""
    return caption or (video.generation_params or {}).get("caption", "")




def _decoded_frames(video: Video, num_frames: int, size, timed: bool):
    """(frames, their sampled frame rate) of one video."""
    from ..engine.critic.data import sample_frames_timed

    with tempfile.TemporaryDirectory(prefix="lift-score-") as spill:
        return sample_frames_timed(video_local_path(video, Path(spill)), num_frames, size, timed=timed)


def _decode_batch(pool, video_ids: list[int], loaded):
    """(videos, futures of their frames) at the critic's frame count, sized as its processor sizes them."""
    from ..engine.critic.spec import VisionGeometry

    model, _, meta = loaded
    geometry = VisionGeometry.from_config(model.config)
    size = meta.frame_sizer(geometry)
    videos = list(Video.objects.filter(pk__in=video_ids).select_related("prompt").order_by("pk"))
    return videos, [pool.submit(_decoded_frames, video, meta.num_frames, size, geometry.timed) for video in videos]


def _preference_rows(loaded, videos: list[Video], frames: list, *, critic: ModelVersion, job) -> list[VideoScore]:
    """A Bradley–Terry critic's verdicts: per dimension its score, as reward σ(score) (the probability of beating
    a video scored 0) and as uncertainty that probability's entropy; no rating word."""
    import math

    from ..engine.critic.pairwise import score_videos as preference_scores

    model = loaded[0]
    scores = preference_scores(model, frames, [video_caption(v) for v in videos])
    rows = []
    for video, row in zip(videos, scores):
        for dim, score in zip(model.dimensions, row.tolist()):
            p = 1.0 / (1.0 + math.exp(-score))
            entropy = -sum(q * math.log(q) for q in (p, 1.0 - p) if q > 0)
            rows.append(VideoScore(video=video, critic=critic, dimension=dim, probs={"score": score}, rating="",
                                   reward=p, uncertainty=entropy, job=job))
    return rows


def scores_compute(*, critic: ModelVersion, video_ids: list[int], report=None, job=None,
                   with_reasons: bool = False) -> dict:
    """Score the videos that `critic` has not scored yet, in batches; store one VideoScore per dimension.

    Idempotent: a re-run (or a killed worker's retry) scores only what is missing.
    """
    from ..engine.critic.data import CriticDataError, ScoreItem
    from ..engine.critic.score import score_videos

    report = report or (lambda **kwargs: None)
    requested = list(dict.fromkeys(int(v) for v in video_ids))
    found = set(Video.objects.filter(pk__in=requested).values_list("pk", flat=True))
    if missing := [v for v in requested if v not in found]:
        raise ApplicationError(f"Unknown video ids: {missing[:10]}", fields={"video_ids": missing[:10]})
    done = scored_video_ids(critic=critic, video_ids=requested)
    todo = [v for v in requested if v not in done]
    dims = critic_dimensions(critic)
    scored = 0
    if not todo:
        return {"critic": critic.pk, "requested": len(requested), "scored": 0,
                "already_scored": len(requested), "dimensions": dims}
    from ..engine.critic.data import DECODE_THREADS

    loaded = critic_loaded(critic)
    batches = [todo[i : i + SCORE_BATCH_VIDEOS] for i in range(0, len(todo), SCORE_BATCH_VIDEOS)]
    # Decoding (ffmpeg) runs in threads, one batch ahead, while the model scores the current batch.
    with ThreadPoolExecutor(max_workers=DECODE_THREADS) as pool:
        upcoming = _decode_batch(pool, batches[0], loaded)
        for index in range(len(batches)):
            videos, decoding = upcoming
            if index + 1 < len(batches):
                upcoming = _decode_batch(pool, batches[index + 1], loaded)
            try:
                decoded = [future.result() for future in decoding]
                if is_preference_critic(critic):
                    rows = _preference_rows(loaded, videos, [frames for frames, _ in decoded], critic=critic, job=job)
                else:
                    items = [ScoreItem(frames, video_caption(video), fps=fps)
                             for video, (frames, fps) in zip(videos, decoded)]
                    results = score_videos(None, items, batch_size=len(items) * len(dims), with_reasons=with_reasons,
                                           dimensions=tuple(dims), critic=loaded,  # one forward pass per batch
                                           device=scoring_device())
                    rows = [
                        VideoScore(video=video, critic=critic, dimension=dim, probs=s.probs, rating=s.rating,
                                   reward=s.expected_reward, uncertainty=s.entropy, reason=s.reason or "", job=job)
                        for video, result in zip(videos, results) for dim, s in result.dimensions.items()
                    ]
            except CriticDataError as exc:
                raise ApplicationError(f"Scoring failed: {exc}", code="score_failed") from exc
            with transaction.atomic():
                VideoScore.objects.bulk_create(rows, ignore_conflicts=True)  # a concurrent run's rows stay
            scored += len(videos)
            report(fraction=scored / len(todo), phase=f"scored {scored}/{len(todo)}",
                   log=f"scored videos {[v.pk for v in videos]}", force=True)
    return {"critic": critic.pk, "requested": len(requested), "scored": scored,
            "already_scored": len(requested) - len(todo), "dimensions": dims}
