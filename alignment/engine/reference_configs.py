"""The published configs of the real models the memory defaults are for, and builders that make them
with random or empty (meta) weights: nothing is downloaded. Used by the GPU benchmark
(bench/gpu_bench.py) and by the tests that check what each real-size setting turns on.

Sources: THUDM/CogVideoX-2b (transformer/, vae/, scheduler/ and text_encoder/ config.json; the text
encoder is google/t5-v1_1-xxl's encoder) and Qwen/Qwen2-VL-2B-Instruct config.json.
"""

from __future__ import annotations

COGVIDEOX_2B_TRANSFORMER = dict(
    num_attention_heads=30, attention_head_dim=64, in_channels=16, out_channels=16, flip_sin_to_cos=True,
    freq_shift=0, time_embed_dim=512, text_embed_dim=4096, num_layers=30, dropout=0.0, attention_bias=True,
    sample_width=90, sample_height=60, sample_frames=49, patch_size=2, temporal_compression_ratio=4,
    max_text_seq_length=226, activation_fn="gelu-approximate", timestep_activation_fn="silu",
    norm_elementwise_affine=True, norm_eps=1e-5, spatial_interpolation_scale=1.875,
    temporal_interpolation_scale=1.0, use_rotary_positional_embeddings=False,
)
COGVIDEOX_2B_VAE = dict(
    in_channels=3, out_channels=3, down_block_types=("CogVideoXDownBlock3D",) * 4,
    up_block_types=("CogVideoXUpBlock3D",) * 4, block_out_channels=(128, 256, 256, 512), latent_channels=16,
    layers_per_block=3, act_fn="silu", norm_eps=1e-6, norm_num_groups=32, temporal_compression_ratio=4,
    sample_height=480, sample_width=720, scaling_factor=1.15258426,
)
COGVIDEOX_2B_SCHEDULER = dict(
    beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, num_train_timesteps=1000,
    prediction_type="v_prediction", rescale_betas_zero_snr=True, snr_shift_scale=3.0,
    timestep_spacing="trailing", set_alpha_to_one=True, clip_sample=False,
)
T5_XXL_ENCODER = dict(
    vocab_size=32128, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64,
    relative_attention_num_buckets=32, relative_attention_max_distance=128, dropout_rate=0.1,
    feed_forward_proj="gated-gelu", is_encoder_decoder=True, tie_word_embeddings=False,
)
QWEN2_VL_2B = dict(
    model_type="qwen2_vl", vocab_size=151936, hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
    num_attention_heads=12, num_key_value_heads=2, max_position_embeddings=32768, rms_norm_eps=1e-6,
    rope_theta=1_000_000.0, tie_word_embeddings=True, rope_scaling={"type": "mrope", "mrope_section": [16, 24, 24]},
    bos_token_id=151643, eos_token_id=151645, vision_start_token_id=151652, vision_end_token_id=151653,
    image_token_id=151655, video_token_id=151656,
    vision_config=dict(depth=32, embed_dim=1280, hidden_size=1536, mlp_ratio=4, num_heads=16, in_channels=3,
                       patch_size=14, spatial_merge_size=2, temporal_patch_size=2),
)
# Qwen2-VL's video processor: pixels per frame between 128 and 768 merged 28×28 patches.
QWEN2_VL_VIDEO_PIXELS = (128 * 28 * 28, 768 * 28 * 28)
# What the model's authors and cogvideox-factory publish for CogVideoX-2B (bf16/fp16, diffusers).
PUBLISHED_GENERATION_S = {"A100": 90.0, "H100": 45.0}  # s/video, 50 steps, 49×480×720
# cogvideox-factory, 49×480×720, batch 1, gradient checkpointing, cached latents and embeddings, AdamW:
# LoRA r64 13.0 GB in training (T5 resident); full fine-tuning 16.4 GB before training, 33.9 GB
# training peak with plain AdamW (16.4 GB with 8-bit AdamW).
PUBLISHED_TRAINING_GB = {"lora_r64": 13.0, "full_loaded": 16.4, "full_adamw_peak": 33.9, "full_adamw8bit_peak": 16.4}


def qwen2_vl_2b_config(**changes):
    from transformers import Qwen2VLConfig

    values = {**QWEN2_VL_2B, **changes}
    values.pop("model_type")
    return Qwen2VLConfig(**values)


def cogvideox_2b_pipeline(*, device="meta", dtype=None, text_encoder: bool = True, shrink: bool = False):
    """A CogVideoXPipeline of the published shapes. device "meta" builds empty weights (no memory);
    "cuda"/"cpu" random ones. shrink makes a one-layer, narrow-VAE version with the same code paths
    (the benchmark's CPU dry run). The tokenizer is left out (no download): pass embeddings."""
    import torch
    from diffusers import AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXPipeline, CogVideoXTransformer3DModel

    transformer_config = dict(COGVIDEOX_2B_TRANSFORMER)
    vae_config = dict(COGVIDEOX_2B_VAE)
    t5_config = dict(T5_XXL_ENCODER)
    if shrink:
        transformer_config.update(num_layers=1, num_attention_heads=2, text_embed_dim=64)
        vae_config.update(block_out_channels=(32, 32, 32, 32), layers_per_block=1)
        t5_config.update(d_model=64, d_kv=8, d_ff=128, num_layers=1, num_heads=8)
    if device == "meta":
        from accelerate import init_empty_weights

        context = init_empty_weights()
    else:
        context = torch.device(device)
    torch.manual_seed(0)
    with context:  # random init straight on the device: no 2B-parameter copy from the host
        transformer = CogVideoXTransformer3DModel(**transformer_config)
        vae = AutoencoderKLCogVideoX(**vae_config)
        encoder = _t5_encoder(t5_config) if text_encoder else None
    if dtype is not None:
        for module in (transformer, vae, encoder):
            if module is not None:
                module.to(dtype)
    pipe = CogVideoXPipeline(tokenizer=None, text_encoder=encoder, vae=vae, transformer=transformer,
                             scheduler=CogVideoXDDIMScheduler(**COGVIDEOX_2B_SCHEDULER))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _t5_encoder(config: dict):
    from transformers import T5Config, T5EncoderModel

    return T5EncoderModel(T5Config(**config))
