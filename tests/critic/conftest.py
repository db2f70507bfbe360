"""Critic platform fixtures: a tiny random-weight critic built once, registered as a version, and real
synthetic-world videos (mp4 files in the test's media root, with the oracle's truth)."""
import hashlib

import pytest

from tests.engine.critic.conftest import tiny_critic_dir  # noqa: F401  (the engine tests' tiny critic)


@pytest.fixture
def critic_version(db, tiny_critic_dir):
    from alignment.services.registry import version_register

    return version_register(kind="critic", name="tiny critic", base=str(tiny_critic_dir),
                            metrics={"mean_accuracy": 0.5})


def world_videos(count: int, seed: int = 3):
    """Videos rendered by the synthetic world, stored like generated ones; truth in generation_params."""
    from django.conf import settings

    from alignment.engine.critic.synthetic_data import synthetic_videos
    from alignment.engine.video_io import encode_video
    from annotation.models import Prompt, Video

    videos = []
    for index, (pixels, caption, judgements) in enumerate(synthetic_videos(count, seed=seed)):
        name = f"videos/world-{seed}-{index}.mp4"
        path = settings.MEDIA_ROOT / name
        path.parent.mkdir(parents=True, exist_ok=True)
        encode_video(pixels, path, fps=8)
        prompt, _ = Prompt.objects.get_or_create(normalized=f"{caption.lower()} #{seed}-{index}",
                                                 defaults={"text": caption, "caption": caption})
        truth = {dim: {"rating": j.rating, "reason": j.reason} for dim, j in judgements.items()}
        videos.append(Video.objects.create(
            file=name, prompt=prompt, sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            generation_params={"synthetic_truth": {"judgements": truth}}, frames=len(pixels)))
    return videos


def truth_ratings(video, flip: str | None = None) -> dict:
    """The oracle's ratings as an annotation; `flip` names a dimension rated one level off (noise)."""
    truth = video.generation_params["synthetic_truth"]["judgements"]
    values = {}
    for dim, judgement in truth.items():
        rating = judgement["rating"]
        if dim == flip:
            rating = {"Good": "Normal", "Normal": "Bad", "Bad": "Good"}[rating]
        values[dim] = {"rating": rating, "rationale": judgement["reason"] or "Looks right to me."}
    return values


def split_seed(texts: list[str]) -> int:
    """A snapshot seed that puts at least one prompt in each of train, validation and test."""
    from annotation.snapshots.hra_format import SPLITS, prompt_key, split_for

    for seed in range(200):
        if {split_for(prompt_key(t, t), seed) for t in texts} == set(SPLITS):
            return seed
    raise AssertionError("no seed splits these prompts three ways")


def rated_snapshot(count: int = 12, annotators: int = 2, seed: int = 3):
    """A ready snapshot of synthetic videos rated by `annotators` people (the second one noisy)."""
    from annotation.snapshots.services import snapshot_build, snapshot_create, snapshot_params_validate
    from tests.factories import CampaignFactory, ItemFactory, UserFactory, add_member
    from tests.quality.util import annotate

    campaign = CampaignFactory(overlap=annotators)
    users = [add_member(campaign, UserFactory(roles=["annotator"])) for _ in range(annotators)]
    videos = world_videos(count, seed=seed)
    for index, video in enumerate(videos):
        item = ItemFactory(campaign=campaign, video=video)
        for position, user in enumerate(users):
            annotate(item, user, truth_ratings(video, flip="motion" if position == 1 and index % 3 == 0 else None))
    params = snapshot_params_validate(params={"filters": {"campaign_ids": [campaign.pk]},
                                           "seed": split_seed([v.prompt.text for v in videos])})
    return snapshot_build(snapshot=snapshot_create(params=params)), campaign, videos


@pytest.fixture
def jobs_dir(tmp_path, settings, monkeypatch):
    """Job work folders under the test's tmp path, for this process and for workers it starts."""
    path = tmp_path / "jobs"
    settings.LIFT = {**settings.LIFT, "JOBS_DIR": path}
    monkeypatch.setenv("LIFT_JOBS_DIR", str(path))
    return path
