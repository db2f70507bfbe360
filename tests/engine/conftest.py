"""Shared engine fixtures: tiny random-weight models built once per test session."""

import pytest


@pytest.fixture(scope="session")
def tiny_cogvideox_dir(tmp_path_factory):
    from alignment.engine.tiny import build_tiny_cogvideox

    return build_tiny_cogvideox(tmp_path_factory.mktemp("tiny-cogvideox") / "pipeline")


@pytest.fixture(scope="session")
def tiny_lora_dir(tiny_cogvideox_dir, tmp_path_factory):
    from alignment.engine.tiny import build_tiny_cogvideox_lora

    return build_tiny_cogvideox_lora(tiny_cogvideox_dir, tmp_path_factory.mktemp("tiny-lora") / "lora")


@pytest.fixture(scope="session")
def tiny_causal_lm_dir(tmp_path_factory):
    from alignment.engine.tiny import build_tiny_causal_lm

    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm") / "model")
