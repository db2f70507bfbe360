"""Alignment training step at full size on a CUDA GPU: a CogVideoX-2B-sized transformer (the published
config, random weights, nothing downloaded) at 49×480×720, batch 1, bf16, gradient checkpointing.
Step time and peak memory for LoRA r64 and for full fine-tuning, next to the published fine-tuning
memory figures (2B LoRA ≈ 13 GB, 2B full ≈ 16.4 GB).

    .venv/bin/python bench/align_gpu.py [--steps 5] [--modes lora,full] [--weights fp32,bf16]
    .venv/bin/python bench/align_gpu.py --tiny --device cpu     # checks the script itself, no GPU needed

The step is the trainer's (alignment/engine/align): cached latents and T5 embeddings in, v-prediction,
x0 loss with the 1/(1−ᾱ_t) weighting, backward, clipping, AdamW. T5 and the VAE are not loaded:
with the cache they take no part in a step. `--weights fp32` is what AlignTrainer does (fp32 weights,
bf16 autocast through accelerate); `--weights bf16` stores the weights in bf16 as diffusers'
CogVideoX fine-tuning scripts do (LoRA parameters stay fp32 there), which is what the published
figures measure. Without CUDA it refuses and measures nothing (exit 2; 0 with --skip-without-cuda,
for `make bench` on CPU machines).
"""
import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# THUDM/CogVideoX-2b transformer/config.json (published), weights left random.
COGVIDEOX_2B = dict(
    num_attention_heads=30, attention_head_dim=64, in_channels=16, out_channels=16, flip_sin_to_cos=True,
    freq_shift=0, time_embed_dim=512, text_embed_dim=4096, num_layers=30, dropout=0.0, attention_bias=True,
    sample_width=90, sample_height=60, sample_frames=49, patch_size=2, temporal_compression_ratio=4,
    max_text_seq_length=226, activation_fn="gelu-approximate", timestep_activation_fn="silu",
    norm_elementwise_affine=True, norm_eps=1e-5, spatial_interpolation_scale=1.875,
    temporal_interpolation_scale=1.0, use_rotary_positional_embeddings=False,
)
# THUDM/CogVideoX-2b scheduler/scheduler_config.json (the part that sets ᾱ_t).
SCHEDULER_2B = dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, num_train_timesteps=1000,
                    prediction_type="v_prediction", rescale_betas_zero_snr=True, snr_shift_scale=3.0,
                    timestep_spacing="trailing", set_alpha_to_one=True, clip_sample=False)
TINY = dict(num_attention_heads=2, attention_head_dim=16, in_channels=4, out_channels=4, time_embed_dim=8,
            text_embed_dim=32, num_layers=2, sample_width=8, sample_height=8, sample_frames=9, patch_size=2,
            temporal_compression_ratio=4, max_text_seq_length=16)
PUBLISHED_GB = {"lora": 13.0, "full": 16.4}
LORA_TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]


def latent_shape(config: dict, frames: int, height: int, width: int) -> tuple[int, ...]:
    """[B, F, C, h, w] for a CogVideoX VAE (8× spatial, 4× temporal)."""
    return (1, (frames - 1) // config["temporal_compression_ratio"] + 1, config["in_channels"], height // 8, width // 8)


def build(config: dict, mode: str, weights: str, rank: int, device: str):
    import torch
    from diffusers import CogVideoXTransformer3DModel

    dtype = torch.bfloat16 if weights == "bf16" else torch.float32
    torch.manual_seed(0)
    with torch.device(device):
        transformer = CogVideoXTransformer3DModel(**config).to(dtype)
    if mode == "lora":
        from peft import LoraConfig

        transformer.requires_grad_(False)
        transformer.add_adapter(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights=True, target_modules=LORA_TARGETS))
        for parameter in transformer.parameters():
            if parameter.requires_grad:  # LoRA weights train in fp32, as in diffusers' scripts
                parameter.data = parameter.data.float()
    else:
        transformer.requires_grad_(True)
    transformer.enable_gradient_checkpointing()
    transformer.train()
    return transformer


def measure(config: dict, mode: str, weights: str, args) -> dict:
    import torch
    from accelerate import Accelerator
    from diffusers import CogVideoXDDIMScheduler

    from alignment.engine.align import objectives as obj

    cuda = args.device.startswith("cuda")
    accelerator = Accelerator(mixed_precision="bf16" if cuda else "no", cpu=not cuda)
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    transformer = build(config, mode, weights, args.rank, args.device)
    trainable = [p for p in transformer.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-5, betas=(0.9, 0.95))
    transformer, optimizer = accelerator.prepare(transformer, optimizer)
    alphas_cumprod = CogVideoXDDIMScheduler(**SCHEDULER_2B).alphas_cumprod.to(args.device)
    shape = latent_shape(config, args.frames, args.height, args.width)
    generator = torch.Generator(args.device).manual_seed(0)
    dtype = torch.bfloat16 if weights == "bf16" else torch.float32
    latents = torch.randn(shape, generator=generator, device=args.device)  # cached VAE latents
    embeds = torch.randn((1, config["max_text_seq_length"], config["text_embed_dim"]), generator=generator,
                         device=args.device)  # cached T5 embeddings

    def step() -> float:
        started = time.perf_counter()
        t = torch.randint(0, 1000, (1,), generator=generator, device=args.device)
        a = alphas_cumprod[t]
        noisy = obj.add_noise(latents, torch.randn(shape, generator=generator, device=args.device), a)
        with accelerator.autocast():
            v = transformer(hidden_states=noisy.to(dtype), encoder_hidden_states=embeds.to(dtype), timestep=t,
                            return_dict=False)[0]
        loss = obj.diffusion_loss_per_sample(obj.v_to_x0(v.float(), noisy, a), latents, a).mean()
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        return time.perf_counter() - started

    for _ in range(args.warmup):
        step()
    times = [step() for _ in range(args.steps)]
    figures = {
        "mode": mode, "weights": weights, "trainable": sum(p.numel() for p in trainable),
        "total": sum(p.numel() for p in transformer.parameters()), "step_s": statistics.median(times),
        "peak_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan"),
        "reserved_gib": torch.cuda.max_memory_reserved() / 2**30 if cuda else float("nan"),
    }
    del transformer, optimizer, latents, embeds
    gc.collect()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=5, help="measured steps (median reported)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--modes", default="lora,full")
    parser.add_argument("--weights", default="fp32,bf16", help="weight storage: fp32 (our trainer), bf16")
    parser.add_argument("--rank", type=int, default=64)
    parser.add_argument("--frames", type=int, default=49)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--width", type=int, default=720)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="a tiny transformer at 9×64×64 (checks the script)")
    parser.add_argument("--skip-without-cuda", action="store_true", help="exit 0 instead of 2 when there is no GPU")
    args = parser.parse_args()
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("align_gpu: no CUDA device here, so nothing was measured. Run it on a GPU machine "
              "(or with --tiny --device cpu to check the script).", file=sys.stderr)
        return 0 if args.skip_without_cuda else 2
    config = TINY if args.tiny else COGVIDEOX_2B
    if args.tiny:
        args.frames, args.height, args.width = 9, 64, 64
    rows = [measure(config, mode, weights, args)
            for mode in args.modes.split(",") for weights in args.weights.split(",")]
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    size = "tiny transformer" if args.tiny else "CogVideoX-2B-sized transformer (published config, random weights)"
    precision = "bf16 autocast" if args.device.startswith("cuda") else "fp32 (no autocast on CPU)"
    print(f"{size}, {args.frames}×{args.height}×{args.width}, batch 1, {precision}, gradient checkpointing, "
          f"AdamW; {device}, torch {torch.__version__}; median of {args.steps} steps after {args.warmup} warm-up.\n")
    print("| training | weights | trainable params | step (s) | peak allocated (GiB) | peak reserved (GiB) | published (GB) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        label = f"LoRA r{args.rank}" if r["mode"] == "lora" else "full"
        print(f"| {label} | {r['weights']} | {r['trainable'] / 1e6:.2f} M of {r['total'] / 1e6:.1f} M | "
              f"{r['step_s']:.2f} | {r['peak_gib']:.1f} | {r['reserved_gib']:.1f} | ≈ {PUBLISHED_GB[r['mode']]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
