"""Critic fixtures: a tiny random-weight Qwen2-VL critic built once per session, synthetic videos."""

import pytest


@pytest.fixture(scope="session")
def tiny_critic_dir(tmp_path_factory):
    from alignment.engine.critic.tiny import build_tiny_critic

    return build_tiny_critic(tmp_path_factory.mktemp("tiny-critic") / "critic")


@pytest.fixture(scope="session")
def synthetic_small():
    from alignment.engine.critic.synthetic_data import synthetic_videos

    return synthetic_videos(6, seed=3)
