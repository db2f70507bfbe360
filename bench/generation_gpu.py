"""CogVideoX-2B-sized generation on a CUDA GPU: seconds per video and peak GPU memory, with and without
torch.compile. Random weights built from the published config (no download, no text encoder: random
T5-shaped prompt embeddings stand in, as the text encoder runs once per video and is not the cost).

    .venv/bin/python bench/generation_gpu.py [--repeats 2] [--vae-tiling] [--steps 50]

Defaults are the published setting: 49 frames, 480×720, 50 DDIM steps, guidance 6 (so the
transformer runs on a batch of two), bf16. Prints a Markdown block for bench/RESULTS.md
("## Generation"). Without CUDA it refuses and exits 2; `--cpu-smoke` runs the same code path on
a one-layer model at a tiny size on the CPU, only to check that the script works.
"""
import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# THUDM/CogVideoX-2b's published transformer and scheduler configs, as the alignment GPU bench has them.
from bench.align_gpu import COGVIDEOX_2B as TRANSFORMER_2B  # noqa: E402
from bench.align_gpu import SCHEDULER_2B  # noqa: E402

# THUDM/CogVideoX-2b vae/config.json.
VAE_2B = dict(
    in_channels=3, out_channels=3, down_block_types=("CogVideoXDownBlock3D",) * 4,
    up_block_types=("CogVideoXUpBlock3D",) * 4, block_out_channels=(128, 256, 256, 512), latent_channels=16,
    layers_per_block=3, act_fn="silu", norm_eps=1e-6, norm_num_groups=32, temporal_compression_ratio=4,
    sample_height=480, sample_width=720, scaling_factor=1.15258426,
)
# What the model's authors publish for CogVideoX-2B (model card, 50 steps, FP16/BF16, diffusers).
PUBLISHED = "A100 ~90 s and H100 ~45 s per video; memory from 4 GB with CPU offload and VAE tiling (about 3× that without)"


def build_pipeline(*, device, dtype, smoke: bool):
    import torch
    from diffusers import AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXPipeline, CogVideoXTransformer3DModel

    transformer_config = dict(TRANSFORMER_2B, num_layers=1, num_attention_heads=2) if smoke else TRANSFORMER_2B
    vae_config = dict(VAE_2B, block_out_channels=(32, 32, 32, 32), layers_per_block=1) if smoke else VAE_2B
    torch.manual_seed(0)
    with torch.device(device):  # random init straight on the GPU: no 2B-parameter copy from the host
        transformer = CogVideoXTransformer3DModel(**transformer_config).to(dtype).eval()
        vae = AutoencoderKLCogVideoX(**vae_config).to(dtype).eval()
    pipe = CogVideoXPipeline(tokenizer=None, text_encoder=None, vae=vae, transformer=transformer,
                             scheduler=CogVideoXDDIMScheduler(**SCHEDULER_2B))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def one_video(pipe, *, args, device, dtype, seed: int) -> float:
    import torch

    generator = torch.Generator("cpu").manual_seed(seed)
    text = torch.randn(1, 226, 4096, generator=generator).to(device, dtype)
    negative = torch.zeros_like(text)
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    with torch.inference_mode():
        pipe(prompt_embeds=text, negative_prompt_embeds=negative, num_frames=args.frames, height=args.height,
             width=args.width, num_inference_steps=args.steps, guidance_scale=args.guidance,
             generator=generator, output_type="np")
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def measure(*, compiled: bool, args, device, dtype) -> dict:
    import torch

    pipe = build_pipeline(device=device, dtype=dtype, smoke=args.cpu_smoke)
    if args.vae_tiling:
        pipe.vae.enable_tiling()
    if compiled:
        pipe.transformer = torch.compile(pipe.transformer)
    params = sum(p.numel() for p in pipe.transformer.parameters())
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    first = one_video(pipe, args=args, device=device, dtype=dtype, seed=0)  # includes compilation when compiled
    times = [one_video(pipe, args=args, device=device, dtype=dtype, seed=1 + i) for i in range(args.repeats)]
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else float("nan")
    del pipe
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
    return {"first": first, "median": statistics.median(times), "times": times, "peak_gib": peak, "params": params}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=49)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--width", type=int, default=720)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--guidance", type=float, default=6.0)
    parser.add_argument("--repeats", type=int, default=2, help="timed videos after the first (warm-up) one")
    parser.add_argument("--vae-tiling", action="store_true", help="decode in tiles (less memory)")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile run")
    parser.add_argument("--cpu-smoke", action="store_true", help="tiny one-layer run on the CPU: checks the script only")
    args = parser.parse_args()
    import torch

    if args.cpu_smoke:
        device, dtype = "cpu", torch.float32
        args.frames, args.height, args.width, args.steps, args.repeats = 9, 64, 96, 2, 1
    elif not torch.cuda.is_available():
        print("generation_gpu.py measures a CUDA GPU and none is available here (torch "
              f"{torch.__version__}); nothing was run. Use --cpu-smoke to check the script itself.", file=sys.stderr)
        return 2
    else:
        device, dtype = "cuda", torch.bfloat16

    runs = {"eager": measure(compiled=False, args=args, device=device, dtype=dtype)}
    if not args.no_compile:
        runs["torch.compile"] = measure(compiled=True, args=args, device=device, dtype=dtype)
    gpu = torch.cuda.get_device_name(0) if device == "cuda" else "CPU (smoke run: not a measurement)"
    print(f"""
### CogVideoX-2B-sized generation on {gpu}
Random weights from the published config ({runs['eager']['params'] / 1e9:.2f} B transformer parameters), {args.frames}
frames, {args.height}×{args.width}, {args.steps} steps, guidance {args.guidance}, {str(dtype).removeprefix('torch.')},
VAE tiling {'on' if args.vae_tiling else 'off'}, no CPU offload; torch {torch.__version__}; median of {args.repeats}
videos after a first one (which also compiles).

| | s/video (median) | first video | peak GPU memory |
|---|---|---|---|""")
    for name, run in runs.items():
        print(f"| {name} | {run['median']:.1f} | {run['first']:.1f} | {run['peak_gib']:.1f} GiB |")
    print(f"\nPublished by the model's authors: {PUBLISHED}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
