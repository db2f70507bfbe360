"""Critic scores: score videos with a critic version (once per video × critic × dimension) and read them back.

Runs in a GPU worker; the critic is loaded once per worker process and kept across jobs.
"""
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from django.db import transaction

from annotation.models import Video
from lift.api_errors import ApplicationError

from ..models import ModelVersion, VideoScore

SCORE_BATCH_VIDEOS = 8  # videos per engine call: one progress report and one DB write each
DECODE_THREADS = 4  # ffmpeg decodes run as subprocesses: threads overlap them with scoring
_LOADED_CRITIC: dict = {}  # {"dir": str, "critic": (model, tokenizer, meta)}


def critic_dimensions(critic: ModelVersion) -> list[str]:
    from ..engine.critic.questions import DIMENSIONS

    return list((critic.config or {}).get("dimensions") or DIMENSIONS)


def critic_directory(critic: ModelVersion) -> str:
    """Where the critic's transformers directory is: a trained critic's own folder, else its base."""
    return (critic.config or {}).get("critic_dir") or critic.base


def require_critic(critic_id) -> ModelVersion:
    """The critic version named by `critic_id`, or the active critic when it is None."""
    from .registry import active_version

    if critic_id is None:
        critic = active_version(kind=ModelVersion.Kind.CRITIC)
        if critic is None:
            raise ApplicationError("There is no active critic; name a critic version.", fields={"critic": "required"})
        return critic
    critic = ModelVersion.objects.filter(pk=critic_id, kind=ModelVersion.Kind.CRITIC).first() if isinstance(critic_id, int) else None
    if critic is None:
        raise ApplicationError("critic must name a critic version.", fields={"critic": "unknown"})
    return critic


def scoring_device() -> str:
    """The GPU when the worker has one (gpu queue), else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _load(critic: ModelVersion):
    from ..engine.critic.spec import load_critic

    directory = critic_directory(critic)
    if _LOADED_CRITIC.get("dir") != directory:
        _LOADED_CRITIC.clear()
        try:
            _LOADED_CRITIC["critic"] = load_critic(directory, device=scoring_device())
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


def scored_video_ids(*, critic: ModelVersion, video_ids: list[int]) -> set[int]:
    """Videos that already have a score on every one of the critic's dimensions."""
    from django.db.models import Count

    dims = critic_dimensions(critic)
    rows = (VideoScore.objects.filter(critic=critic, video_id__in=video_ids, dimension__in=dims)
            .values("video_id").annotate(n=Count("id")).filter(n=len(dims)))
    return {row["video_id"] for row in rows}


def _decoded_frames(video: Video, num_frames: int, size):
    """(frames, their sampled frame rate) of one video."""
    from ..engine.critic.data import sample_frames_timed

    with tempfile.TemporaryDirectory(prefix="lift-score-") as spill:
        return sample_frames_timed(video_local_path(video, Path(spill)), num_frames, size)


def _decode_batch(pool, video_ids: list[int], loaded):
    """(videos, futures of their frames) at the critic's frame count, sized as its processor sizes them."""
    from ..engine.critic.spec import VisionGeometry

    model, _, meta = loaded
    geometry = VisionGeometry.from_config(model.config)
    size = lambda height, width: meta.frame_size_for(height, width, geometry)  # noqa: E731
    videos = list(Video.objects.filter(pk__in=video_ids).select_related("prompt").order_by("pk"))
    return videos, [pool.submit(_decoded_frames, video, meta.num_frames, size) for video in videos]


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
    loaded = _load(critic)
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
                items = [ScoreItem(frames, video_caption(video), fps=fps) for video, (frames, fps) in zip(videos, decoded)]
                results = score_videos(None, items, batch_size=len(items) * len(dims), with_reasons=with_reasons,
                                       dimensions=tuple(dims), critic=loaded,  # one forward pass per batch
                                       device=scoring_device())
            except CriticDataError as exc:
                raise ApplicationError(f"Scoring failed: {exc}", code="score_failed") from exc
            rows = [
                VideoScore(video=video, critic=critic, dimension=dim, probs=s.probs, rating=s.rating,
                           reward=s.expected_reward, uncertainty=s.entropy, reason=s.reason or "", job=job)
                for video, result in zip(videos, results) for dim, s in result.dimensions.items()
            ]
            with transaction.atomic():
                VideoScore.objects.bulk_create(rows, ignore_conflicts=True)  # a concurrent run's rows stay
            scored += len(videos)
            report(fraction=scored / len(todo), phase=f"scored {scored}/{len(todo)}",
                   log=f"scored videos {[v.pk for v in videos]}", force=True)
    return {"critic": critic.pk, "requested": len(requested), "scored": scored,
            "already_scored": len(requested) - len(todo), "dimensions": dims}


def video_rewards(*, critic: ModelVersion, video_ids: list[int]) -> dict[int, dict]:
    """{video id: {"reward": mean over dimensions, "dimensions": {dim: {...}}}} for scored videos only."""
    out: dict[int, dict] = {}
    rows = VideoScore.objects.filter(critic=critic, video_id__in=list(video_ids)).order_by("video_id", "dimension")
    for row in rows:
        entry = out.setdefault(row.video_id, {"dimensions": {}})
        entry["dimensions"][row.dimension] = {"rating": row.rating, "reward": row.reward, "probs": row.probs,
                                              "uncertainty": row.uncertainty, "reason": row.reason}
    for entry in out.values():
        rewards = [d["reward"] for d in entry["dimensions"].values()]
        entry["reward"] = sum(rewards) / len(rewards)
    return out
