"""Align-job fixtures: a tiny CogVideoX and a tiny critic (built once), registered as versions; ingested
real clips from the synthetic world; a prompt bank to draw candidates and held-out prompts from."""
import hashlib

import pytest

# The tiny models other suites build, shared per session instead of built again.
from tests.critic.conftest import tiny_critic_dir  # noqa: F401
from tests.engine.conftest import tiny_cogvideox_dir  # noqa: F401

TINY_GENERATOR = {"frames": 9, "height": 32, "width": 32, "fps": 8, "steps": 2, "guidance": 1.0,
                  "max_sequence_length": 16}
# A few LoRA steps: enough to move the adapter, checkpoint, validate and resume.
FAST_SETTINGS = {"steps": 4, "batch_size": 2, "real_batch_size": 1, "lora_rank": 4, "learning_rate": 1e-2,
                 "checkpoint_every": 2, "validation_every": 2}


@pytest.fixture
def generator(db, tiny_cogvideox_dir):
    from alignment.services.registry import version_register

    return version_register(kind="generator", name="tiny cogvideox", base=str(tiny_cogvideox_dir),
                            config=TINY_GENERATOR)


@pytest.fixture
def critic(db, tiny_critic_dir):
    from alignment.services.registry import version_promote, version_register

    version = version_register(kind="critic", name="tiny critic", base=str(tiny_critic_dir),
                               metrics={"mean_accuracy": 0.5})
    return version_promote(version=version)


@pytest.fixture
def prompt_bank(db):
    from annotation.services.prompts import prompt_categories_ensure_defaults

    prompt_categories_ensure_defaults()


@pytest.fixture
def real_clips(db, settings):
    """Three ingested (uploaded) clips of the synthetic world, with their prompts."""
    import numpy as np

    from alignment.engine.synthetic import SyntheticGenerator, render, sample_prompt
    from alignment.engine.video_io import encode_video
    from annotation.models import Video
    from annotation.services.prompts import prompt_create

    rng = np.random.default_rng(11)
    videos = []
    for index in range(3):
        text = f"{sample_prompt(rng).to_text()} (real {index})"
        truth = SyntheticGenerator(p_clean=1.0).truth(text.split(" (")[0], index)
        frames = render(truth.spec, truth.defects, frames=12, size=(32, 32), seed=index)
        name = f"videos/real-{index}.mp4"
        path = settings.MEDIA_ROOT / name
        path.parent.mkdir(parents=True, exist_ok=True)
        info = encode_video(frames, path, fps=8)
        videos.append(Video.objects.create(
            file=name, prompt=prompt_create(text=text, source="synthetic"), source=Video.Source.UPLOADED,
            frames=info.frames, width=info.width, height=info.height, fps=8,
            sha256=hashlib.sha256(path.read_bytes()).hexdigest()))
    return videos


def align_params(generator, critic, real_clips, **changes) -> dict:
    params = {"generator_version": generator.pk, "critic_version": critic.pk, "objective": "reward_weighted",
              "settings": dict(FAST_SETTINGS), "real": {"video_ids": [v.pk for v in real_clips]},
              "candidates": {"generate": {"count": 2, "seeds": [0, 1], "seed": 3}},
              "heldout": {"count": 1, "seed": 9, "seeds": [0]}}
    params.update(changes)
    return params
