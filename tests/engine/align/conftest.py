"""Fixtures for the alignment tests: one tiny CogVideoX shared by the session, tiny run settings."""

import numpy as np
import pytest

TINY = dict(frames=9, height=32, width=32, max_sequence_length=16, sample_steps=4)


@pytest.fixture(scope="session")
def tiny_base(tiny_cogvideox_dir):
    return str(tiny_cogvideox_dir)


@pytest.fixture
def tiny_config(tiny_base, tmp_path):
    from alignment.engine.align import AlignConfig

    def make(**overrides):
        settings = dict(
            base=tiny_base, output_dir=str(tmp_path / "run"), steps=6, batch_size=2, real_batch_size=1,
            lora_rank=4, learning_rate=1e-3, checkpoint_every=0, **TINY,
        )
        settings.update(overrides)
        return AlignConfig(**settings)

    return make


def world_clip(prompt: str, seed: int, clean: bool = True) -> np.ndarray:
    from alignment.engine.synthetic import SyntheticGenerator, render

    truth = SyntheticGenerator(p_clean=1.0 if clean else 0.4).truth(prompt, seed)
    return render(truth.spec, truth.defects, frames=TINY["frames"], size=(TINY["height"], TINY["width"]), seed=seed)


@pytest.fixture(scope="session")
def world_prompts():
    from alignment.engine.synthetic import sample_prompt

    rng = np.random.default_rng(0)
    return [sample_prompt(rng).to_text() for _ in range(12)]
