import dataclasses

import numpy as np
import pytest

from alignment.engine.generation import (
    GeneratorSpec,
    InvalidRequest,
    PipelineCache,
    generate,
    load_pipeline,
    read_limits,
    validate_request,
)
from alignment.engine.video_io import encode_video, probe_video, sha256_file


def tiny_spec(base, **changes):
    spec = GeneratorSpec(base=str(base), steps=2, frames=9, height=32, width=32, max_sequence_length=16, fps=8)
    return dataclasses.replace(spec, **changes)


@pytest.fixture(scope="module")
def tiny_pipe(tiny_cogvideox_dir):
    return load_pipeline(tiny_spec(tiny_cogvideox_dir))


def test_tiny_pipeline_generates_encodes_and_probes(tiny_pipe, tiny_cogvideox_dir, tmp_path):
    spec = tiny_spec(tiny_cogvideox_dir)
    validate_request(tiny_pipe, spec)
    progress = []
    frames = generate(tiny_pipe, "two red circles moving left", seed=0, spec=spec, on_progress=lambda f, p: progress.append((f, p)))
    assert frames.shape == (9, 32, 32, 3) and frames.dtype == np.uint8
    info = encode_video(frames, tmp_path / "a.mp4", fps=spec.fps)
    assert (info.frames, info.fps, info.width, info.height) == (9, 8.0, 32, 32)
    assert (info.codec, info.pix_fmt) == ("h264", "yuv420p")
    assert [p for _, p in progress][-2:] == ["decoding", "done"]
    fractions = [f for f, _ in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0

    again = generate(tiny_pipe, "two red circles moving left", seed=0, spec=spec)
    encode_video(again, tmp_path / "b.mp4", fps=spec.fps)
    assert np.array_equal(frames, again)
    assert sha256_file(tmp_path / "a.mp4") == sha256_file(tmp_path / "b.mp4")


def test_seed_changes_the_video(tiny_pipe, tiny_cogvideox_dir):
    spec = tiny_spec(tiny_cogvideox_dir)
    assert not np.array_equal(generate(tiny_pipe, "a blue square", 0, spec), generate(tiny_pipe, "a blue square", 1, spec))


def test_dpm_scheduler_is_cogvideox_flavour(tiny_cogvideox_dir):
    spec = tiny_spec(tiny_cogvideox_dir, scheduler="dpm")
    pipe = load_pipeline(spec)
    assert type(pipe.scheduler).__name__ == "CogVideoXDPMScheduler"
    assert generate(pipe, "one green triangle", 3, spec).shape == (9, 32, 32, 3)


def test_lora_changes_the_output(tiny_pipe, tiny_cogvideox_dir, tiny_lora_dir):
    spec = tiny_spec(tiny_cogvideox_dir, lora=str(tiny_lora_dir))
    with_lora = load_pipeline(spec)
    assert with_lora.get_active_adapters()
    plain = generate(tiny_pipe, "three yellow squares", 7, spec)
    adapted = generate(with_lora, "three yellow squares", 7, spec)
    assert not np.array_equal(plain, adapted)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(frames=10), "8k\\+1"),
        (dict(max_sequence_length=226), "max_sequence_length must be 16"),
        (dict(height=40), "multiples of 16"),
        (dict(steps=0), "steps"),
        (dict(scheduler="euler"), "scheduler"),
    ],
)
def test_bad_requests_are_refused_from_configs_alone(tiny_cogvideox_dir, changes, message):
    limits = read_limits(str(tiny_cogvideox_dir))
    assert limits.family == "cogvideox" and limits.max_sequence_length == 16
    with pytest.raises(InvalidRequest, match=message):
        validate_request(limits, tiny_spec(tiny_cogvideox_dir, **changes))


def test_frame_refusal_suggests_valid_counts(tiny_pipe, tiny_cogvideox_dir):
    with pytest.raises(InvalidRequest, match="try 9 or 17"):
        validate_request(tiny_pipe, tiny_spec(tiny_cogvideox_dir, frames=10))


def test_cache_loads_once_per_model(tiny_cogvideox_dir):
    loads = []

    def counting_loader(spec):
        loads.append(spec.base)
        return object()

    cache = PipelineCache(capacity=1, loader=counting_loader)
    spec = tiny_spec(tiny_cogvideox_dir)
    first = cache.get(spec)
    assert cache.get(dataclasses.replace(spec, steps=5, frames=17)) is first  # per-request settings share it
    cache.get(tiny_spec("synthetic://world"))
    assert len(cache) == 1 and len(loads) == 2
    assert cache.get(spec) is not first  # evicted, loaded again
    assert len(loads) == 3


def test_synthetic_backend_through_the_same_interface():
    spec = tiny_spec("synthetic://world", frames=8, height=48, width=64)
    validate_request(read_limits(spec.base), spec)
    pipe = load_pipeline(spec)
    frames = generate(pipe, "two red circles moving left on a grey floor", seed=4, spec=spec)
    assert frames.shape == (8, 48, 64, 3)
    assert np.array_equal(frames, generate(pipe, "two red circles moving left on a grey floor", seed=4, spec=spec))
    with pytest.raises(InvalidRequest):
        validate_request(pipe, dataclasses.replace(spec, height=15))


def test_spec_round_trips_and_rejects_unknown_settings():
    spec = tiny_spec("synthetic://world")
    assert GeneratorSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(InvalidRequest, match="unknown"):
        GeneratorSpec.from_dict({**spec.to_dict(), "num_gpus": 8})


def test_dtype_is_float32_on_cpu_and_half_only_on_cuda():
    import torch

    from alignment.engine.generation import resolve_dtype

    assert resolve_dtype("bfloat16", "cpu") == torch.float32
    assert resolve_dtype("auto", "cuda") == torch.bfloat16
    assert resolve_dtype("float16", "cuda:0") == torch.float16


@pytest.mark.gpu
def test_half_precision_with_offload_on_cuda(tiny_cogvideox_dir):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    spec = tiny_spec(tiny_cogvideox_dir, cpu_offload=True, vae_tiling=True, vae_slicing=True)
    pipe = load_pipeline(spec)
    assert pipe.transformer.dtype == torch.bfloat16
    frames = generate(pipe, "two red circles", 0, spec)
    assert frames.shape == (9, 32, 32, 3)
    assert np.array_equal(frames, generate(pipe, "two red circles", 0, spec))
