"""What each real-size setting turns on, checked on the CPU without real weights.

CogVideoX-2B and Qwen2-VL-2B are built from their published configs on the meta device (accelerate's
init_empty_weights: shapes and dtypes, no memory); the tiny models show that the same settings stay
off where they would only cost time, and that an explicit setting wins over the profile.
"""

import numpy as np
import pytest
import torch

from alignment.engine.reference_configs import (
    QWEN2_VL_VIDEO_PIXELS,
    T5_XXL_ENCODER,
    cogvideox_2b_pipeline,
    qwen2_vl_2b_config,
)
from alignment.engine.scale import MemoryProfile, count_parameters, encode_batch_size, module_parameters


@pytest.fixture(scope="module")
def big_pipe():
    """CogVideoX-2B's transformer and VAE on meta, with a tiny T5 on the CPU (meta weights cannot be
    copied to the CPU, and the profile reads the transformer's size, not T5's)."""
    from alignment.engine.reference_configs import _t5_encoder

    pipe = cogvideox_2b_pipeline(device="meta", text_encoder=False)
    pipe.text_encoder = _t5_encoder(dict(T5_XXL_ENCODER, d_model=32, d_kv=8, d_ff=64, num_layers=1, num_heads=4))
    return pipe


def test_profiles_from_published_sizes():
    from transformers import Qwen2VLForConditionalGeneration

    big = cogvideox_2b_pipeline(device="meta")
    assert 1.6e9 < module_parameters(big.transformer) < 1.8e9  # CogVideoX-2B: 1.69 B
    assert module_parameters(big.text_encoder) > 4.5e9  # T5-XXL encoder: why it must leave the GPU
    critic_params = count_parameters(Qwen2VLForConditionalGeneration, qwen2_vl_2b_config())
    assert 2.0e9 < critic_params < 2.6e9
    for params in (module_parameters(big.transformer), critic_params):
        assert MemoryProfile.for_size(params) == MemoryProfile(True, True, True, True, True, True)
    assert MemoryProfile.for_size(50_000) == MemoryProfile(False, False, False, False, False, False)


def test_long_clips_are_encoded_one_at_a_time():
    assert encode_batch_size(49, 480, 720) == 1
    assert encode_batch_size(9, 32, 32) == 8


def test_real_size_cogvideox_spec_turns_memory_settings_on(big_pipe):
    from alignment.engine.align.model import CogVideoXSpec

    # "meta" stands in for the GPU: what is placed there stays on meta, what is offloaded sits on the CPU.
    spec = CogVideoXSpec("THUDM/CogVideoX-2b", device="meta", dtype=torch.bfloat16, pipe=big_pipe)
    settings = spec.memory_settings()
    assert settings["profile"]["large"] and spec.offload_text_encoder
    assert settings["vae_tiling"] and settings["vae_slicing"]
    assert settings["dtype"] == {"transformer": "torch.bfloat16", "vae": "torch.bfloat16", "text_encoder": "torch.bfloat16"}
    assert settings["device"] == {"transformer": "meta", "vae": "meta", "text_encoder": "cpu"}
    # Full fine-tuning: fp32 master weights for the transformer, the frozen parts stay bf16.
    full = CogVideoXSpec("THUDM/CogVideoX-2b", device="meta", dtype=torch.bfloat16, transformer_dtype=torch.float32,
                         pipe=big_pipe, offload_text_encoder=False, vae_tiling=False)
    settings = full.memory_settings()
    assert settings["dtype"]["transformer"] == "torch.float32" and settings["dtype"]["vae"] == "torch.bfloat16"
    assert settings["device"]["text_encoder"] == "meta" and not full.offload_text_encoder
    assert not settings["vae_tiling"]


def test_tiny_spec_keeps_the_fast_path_and_t5_visits_the_device_only_to_encode(tiny_cogvideox_dir):
    from alignment.engine.align.model import CogVideoXSpec

    tiny = CogVideoXSpec(str(tiny_cogvideox_dir))
    settings = tiny.memory_settings()
    assert not settings["profile"]["large"] and not settings["vae_tiling"] and not settings["vae_slicing"]
    assert settings["dtype"]["transformer"] == "torch.float32"  # CPU: fp32

    # On a GPU the device would be "cuda"; here "meta" only names it: the moves are recorded, not made.
    offloading = CogVideoXSpec(str(tiny_cogvideox_dir), offload_text_encoder=True)
    offloading.device = torch.device("meta")
    encoder = offloading.pipe.text_encoder
    moves = []
    encoder.to = lambda where, *args, **kwargs: moves.append(str(where)) or encoder
    with offloading.text_encoder_on_device():
        offloading.encode_prompts(["one red circle"], 16)  # nested: no second move
        assert moves == ["meta"]
    assert moves == ["meta", "cpu"]
    offloading.encode_prompts(["one red circle"], 16)  # alone: there and back
    assert moves == ["meta", "cpu", "meta", "cpu"]


def test_generation_turns_vae_slicing_and_tiling_on_for_real_sizes(big_pipe, tiny_cogvideox_dir):
    from alignment.engine.generation import GeneratorSpec, apply_vae_memory, load_pipeline

    apply_vae_memory(big_pipe, GeneratorSpec(base="THUDM/CogVideoX-2b"))
    assert big_pipe.vae.use_tiling and big_pipe.vae.use_slicing
    tiny = load_pipeline(GeneratorSpec(base=str(tiny_cogvideox_dir), frames=9, height=32, width=32,
                                       max_sequence_length=16))
    assert not tiny.vae.use_tiling and not tiny.vae.use_slicing
    forced = load_pipeline(GeneratorSpec(base=str(tiny_cogvideox_dir), vae_tiling=True, vae_slicing=True))
    assert forced.vae.use_tiling and forced.vae.use_slicing


def test_lora_learning_rate_defaults_from_the_literature():
    from alignment.engine.align.config import AlignConfig

    assert AlignConfig(base="b", output_dir="o").learning_rate == 1e-4  # LoRA r64
    assert AlignConfig(base="b", output_dir="o", lora_rank=None).learning_rate == 1e-5  # the paper's full FT
    assert AlignConfig(base="b", output_dir="o", learning_rate=3e-4).learning_rate == 3e-4

