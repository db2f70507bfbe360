"""The critic's real-size settings: bf16 loading, an in-place LoRA merge, processor-style frame
sizes, Qwen2.5-VL's time input and an exported processor config; Qwen2-VL-2B from its published config."""

import json

import numpy as np
import pytest
import torch

from alignment.engine.reference_configs import QWEN2_VL_VIDEO_PIXELS, qwen2_vl_2b_config


def test_critic_loads_bf16_on_cuda_and_where_asked(tiny_critic_dir):
    from alignment.engine.critic.spec import critic_dtype, load_critic

    assert critic_dtype("auto", "cuda") == torch.bfloat16 and critic_dtype(None, "cpu") == torch.float32
    model, _, _ = load_critic(tiny_critic_dir, dtype="bfloat16")
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}


def test_critic_lora_merges_in_place_without_a_copy(tiny_critic_dir):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForImageTextToText

    from alignment.engine.critic.spec import merge_lora

    base = AutoModelForImageTextToText.from_pretrained(tiny_critic_dir)
    weight = base.model.language_model.layers[0].self_attn.q_proj.weight
    peft_model = get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj"], init_lora_weights=False))
    before = weight.detach().clone()
    merged = merge_lora(peft_model)
    assert merged is base  # the same module, not a deep copy
    assert merged.model.language_model.layers[0].self_attn.q_proj.weight.data_ptr() == weight.data_ptr()
    assert not torch.equal(weight.detach(), before)


def test_frames_are_sized_as_the_model_processor_sizes_them():
    from alignment.engine.critic.spec import CriticMeta, VisionGeometry

    geometry = VisionGeometry.from_config(qwen2_vl_2b_config())
    low, high = QWEN2_VL_VIDEO_PIXELS
    meta = CriticMeta(min_pixels=low, max_pixels=high)
    assert meta.frame_size_for(480, 720, geometry) == (476, 728)  # aspect 1.5 kept, multiples of 28
    assert meta.frame_size_for(1080, 1920, geometry)[1] / meta.frame_size_for(1080, 1920, geometry)[0] == pytest.approx(16 / 9, rel=0.03)
    assert CriticMeta(frame_size=(224, 224)).frame_size_for(480, 720, geometry) == (224, 224)  # critics without bounds


def test_qwen25_vl_gets_seconds_per_temporal_patch(tiny_critic_dir):
    from alignment.engine.critic.spec import DEFAULT_SAMPLED_FPS, Query, VisionGeometry, collate, load_tokenizer
    from transformers import Qwen2_5_VLConfig

    config = Qwen2_5_VLConfig(vision_config=dict(patch_size=7, temporal_patch_size=2, spatial_merge_size=2))
    geometry = VisionGeometry.from_config(config)
    assert geometry.timed and not VisionGeometry.from_config(qwen2_vl_2b_config()).timed
    tokenizer = load_tokenizer(tiny_critic_dir)
    frames = np.zeros((8, 28, 28, 3), np.uint8)
    batch = collate(tokenizer, [Query(frames, "a cat", "semantic", fps=2.0), Query(frames, "a dog", "motion")],
                    geometry, with_reason=False, with_answer=False)
    assert batch["second_per_grid_ts"].tolist() == pytest.approx([1.0, 2 / DEFAULT_SAMPLED_FPS])
    plain = collate(tokenizer, [Query(frames, "a cat", "semantic")], VisionGeometry(7, 2, 2), with_reason=False, with_answer=False)
    assert "second_per_grid_ts" not in plain


def test_exported_critic_has_a_processor_config(tiny_critic_dir, tmp_path):
    import shutil

    from transformers import AutoImageProcessor
    from transformers.utils import is_torchvision_available

    from alignment.engine.critic.export import export_critic

    trained = tmp_path / "run" / "critic"
    shutil.copytree(tiny_critic_dir, trained, ignore=shutil.ignore_patterns("*processor*config.json"))
    assert not (trained / "preprocessor_config.json").exists()
    out = export_critic(tmp_path / "run", tmp_path / "export")
    assert (out / "preprocessor_config.json").is_file()
    patch = json.loads((tiny_critic_dir / "config.json").read_text())["vision_config"]["patch_size"]
    assert AutoImageProcessor.from_pretrained(out).patch_size == patch
    if is_torchvision_available():  # AutoProcessor's Qwen2-VL video processor needs torchvision (GPU workers have it)
        from transformers import AutoProcessor

        assert AutoProcessor.from_pretrained(out).image_processor.patch_size == patch


def test_critic_waits_on_the_cpu_between_reward_calls():
    from alignment.engine.critic.spec import critic_on_device

    class Spy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.moves = []

        def to(self, where, *args, **kwargs):
            self.moves.append(str(where))
            return self

    model = Spy()
    with critic_on_device(model, "cuda", offload=True):
        assert model.moves == ["cuda"]
    assert model.moves == ["cuda", "cpu"]
    with critic_on_device(model, "cuda", offload=False):
        pass
    assert model.moves == ["cuda", "cpu", "cuda"]  # a tiny critic stays where it is


def test_trained_critic_keeps_the_base_pixel_bounds_and_a_processor_config(tiny_critic_dir, synthetic_small, tmp_path):
    """A base whose processor gives pixel bounds (a hub model without our meta) trains and scores frames sized
    as that processor sizes them, and the trained directory loads with AutoImageProcessor."""
    import json
    import shutil

    from transformers import AutoImageProcessor

    from alignment.engine.critic.data import CriticExample
    from alignment.engine.critic.spec import CRITIC_META_FILE, CriticMeta
    from alignment.engine.critic.train import CriticTrainConfig, train_critic

    base = tmp_path / "hub-like"
    shutil.copytree(tiny_critic_dir, base)
    (base / CRITIC_META_FILE).unlink()  # a plain model: its processor's bounds are all there is
    config = json.loads((base / "preprocessor_config.json").read_text())
    config["size"] = {"shortest_edge": 28 * 28, "longest_edge": 56 * 84}
    (base / "preprocessor_config.json").write_text(json.dumps(config))
    examples = [CriticExample(frames, caption, d, "Good" if i % 2 else "Bad")
                for i, (frames, caption, _) in enumerate(synthetic_small) for d in ("semantic", "fidelity")]
    result = train_critic(CriticTrainConfig(base=str(base), max_steps=1, batch_size=2, eval_every=0, num_frames=4),
                          examples, examples[:2], tmp_path / "out")
    meta = CriticMeta.load(result.critic_dir)
    assert (meta.min_pixels, meta.max_pixels) == (28 * 28, 56 * 84)
    assert AutoImageProcessor.from_pretrained(result.critic_dir).size["longest_edge"] == 56 * 84
    assert not (result.critic_dir / "adapter_config.json").exists()  # merged weights, the adapter beside them
