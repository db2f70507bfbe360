"""Critic platform fixtures: a tiny random-weight critic built once, registered as a version, and real
synthetic-world videos (mp4 files in the test's media root, with the oracle's truth)."""
import hashlib

import pytest


@pytest.fixture(scope="session")
def tiny_critic_dir(tmp_path_factory):
    from alignment.engine.critic.tiny import build_tiny_critic

    return build_tiny_critic(tmp_path_factory.mktemp("tiny-critic") / "critic")


@pytest.fixture
def critic_version(db, tiny_critic_dir):
    from alignment.services.versions import version_register

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
