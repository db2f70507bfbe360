import pytest


@pytest.fixture(scope="session")
def tiny_cogvideox(tmp_path_factory):
    from alignment.engine.tiny import build_tiny_cogvideox

    return build_tiny_cogvideox(tmp_path_factory.mktemp("models") / "cogvideox-tiny")


SYNTHETIC_CONFIG = {"frames": 8, "height": 32, "width": 32, "fps": 8, "steps": 1}
TINY_CONFIG = {"frames": 9, "height": 32, "width": 32, "fps": 8, "steps": 2, "guidance": 1.0,
               "max_sequence_length": 16}


@pytest.fixture
def synthetic_version(db):
    from alignment.services.registry import version_register

    return version_register(kind="generator", name="synthetic world", base="synthetic://world",
                            config=SYNTHETIC_CONFIG)


@pytest.fixture
def tiny_version(db, tiny_cogvideox):
    from alignment.services.registry import version_register

    return version_register(kind="generator", name="tiny cogvideox", base=str(tiny_cogvideox), config=TINY_CONFIG)


@pytest.fixture
def world_prompts(db):
    from alignment.engine.synthetic import distinct_prompts
    from annotation.services.prompts import prompt_create

    texts = distinct_prompts(4, seed=7)
    return [prompt_create(text=text, source="synthetic") for text in texts]
