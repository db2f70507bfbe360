"""Generation keys across a change of defaults."""


def test_generation_keys_survive_the_by_size_vae_default():
    """Videos made before the VAE flags defaulted to "by size" keep their keys (no second copy on a re-run)."""
    import dataclasses

    from alignment.engine.generation import GeneratorSpec
    from alignment.services.generation import generation_key

    spec = GeneratorSpec(base="x")
    old = dataclasses.replace(spec, vae_tiling=False, vae_slicing=False)
    assert generation_key(prompt_id=1, seed=2, version_id=3, spec=spec) == generation_key(prompt_id=1, seed=2, version_id=3, spec=old)
    assert generation_key(prompt_id=1, seed=2, version_id=3, spec=dataclasses.replace(spec, vae_tiling=True)) != \
        generation_key(prompt_id=1, seed=2, version_id=3, spec=old)
