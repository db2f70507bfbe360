"""Real models at real scale on one CUDA GPU, in one run (about 6 minutes on an H200): random weights
built from the published configs (nothing downloaded), through the engine's own code paths.

1. Generation: a CogVideoX-2B-sized pipeline (T5-XXL encoder, transformer, VAE) at 49×480×720, 50 DDIM
   steps, guidance 6, bf16, the memory settings the engine picks for that size (`generation.generate`),
   seconds per video against the published per-video time.
2. Alignment training step: `CogVideoXSpec` at 2B size, cached latents and T5 embeddings (batch 1),
   the trainer's v-prediction x0 loss, gradient checkpointing, AdamW: LoRA r64 (bf16 base, fp32 LoRA
   weights) and full fine-tuning (fp32 master weights, bf16 autocast). Step time and peak memory
   against cogvideox-factory's 13 GB (LoRA r64) and 16.4 GB (full; its training peak is 33.9 GB).
3. Critic: a Qwen2-VL-2B-sized model (bf16), 8 frames of 480×720 sized as Qwen2-VL's processor sizes
   them: one LoRA training step (batch 8, gradient checkpointing) and scoring throughput
   (`score.score_queries`, one forward pass per batch of queries).

    python bench/gpu_bench.py --json bench/results/gpu.json     # on a CUDA machine
    python bench/gpu_bench.py --dry-run                          # tiny shapes on the CPU: checks the script

Without CUDA (and without --dry-run) it measures nothing, says so and exits 2 (0 with --skip-without-cuda,
for `make bench` on machines without a GPU). Figures: bench/RESULTS.md ("GPU at real scale").
"""
from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

GiB = 2**30


class Device:
    def __init__(self, name: str):
        import torch

        self.name, self.cuda = name, name.startswith("cuda")
        self.torch = torch

    def sync(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize()

    def reset_peak(self) -> None:
        gc.collect()
        if self.cuda:
            self.torch.cuda.empty_cache()
            self.torch.cuda.reset_peak_memory_stats()

    def peak_gib(self) -> float | None:
        return self.torch.cuda.max_memory_allocated() / GiB if self.cuda else None

    def timed(self, fn):
        self.sync()
        started = time.perf_counter()
        out = fn()
        self.sync()
        return time.perf_counter() - started, out

    def repeat(self, fn, warmup: int, repeats: int) -> list[float]:
        """Seconds of each of `repeats` calls after `warmup` untimed ones."""
        for _ in range(warmup):
            fn()
        return [self.timed(fn)[0] for _ in range(repeats)]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------------------------------------
# 1. Generation


def bench_generation(args, dev: Device) -> dict:
    import torch

    from alignment.engine.generation import GeneratorSpec, apply_vae_memory, generate, swap_scheduler
    from alignment.engine.reference_configs import PUBLISHED_GENERATION_S, cogvideox_2b_pipeline
    from alignment.engine.tiny import build_t5_tokenizer

    spec = GeneratorSpec(base="THUDM/CogVideoX-2b (random weights)", frames=args.frames, height=args.height,
                         width=args.width, steps=args.steps, guidance=6.0, max_sequence_length=args.text_length)
    dev.reset_peak()
    pipe = cogvideox_2b_pipeline(device=dev.name, dtype=torch.bfloat16 if dev.cuda else torch.float32, shrink=args.dry_run)
    pipe.tokenizer = build_t5_tokenizer()  # word pieces in T5's id range; the encoder's cost is its size
    swap_scheduler(pipe, spec.scheduler)
    profile = apply_vae_memory(pipe, spec)  # the engine's choice for this size: slicing and tiling
    prompt = "a red fox runs across a snowy field at dawn, detailed fur, soft light"
    warm = GeneratorSpec(**{**spec.to_dict(), "steps": 2})
    log("generation: warm-up (2 steps)")
    warm_s, _ = dev.timed(lambda: generate(pipe, prompt, 0, warm))
    times = []
    for seed in range(args.videos):
        seconds, frames = dev.timed(lambda: generate(pipe, prompt, seed + 1, spec))
        times.append(seconds)
        log(f"generation: video {seed + 1}/{args.videos} in {seconds:.1f} s, frames {frames.shape}")
    result = {
        "what": f"{spec.frames}x{spec.height}x{spec.width}, {spec.steps} steps, guidance {spec.guidance}, "
                f"{'bf16' if dev.cuda else 'fp32'}, VAE tiling {pipe.vae.use_tiling}, slicing {pipe.vae.use_slicing}",
        "profile": profile.describe(),
        "transformer_params": sum(p.numel() for p in pipe.transformer.parameters()),
        "warmup_s": warm_s, "s_per_video": times, "median_s_per_video": statistics.median(times),
        "peak_gib": dev.peak_gib(), "published_s_per_video": PUBLISHED_GENERATION_S,
    }
    del pipe
    return result


# ---------------------------------------------------------------------------------------------
# 2. Alignment training step


def bench_training(args, dev: Device, mode: str) -> dict:
    import torch
    from accelerate import Accelerator

    from alignment.engine.align import objectives as obj
    from alignment.engine.align.model import CogVideoXSpec
    from alignment.engine.reference_configs import PUBLISHED_TRAINING_GB, cogvideox_2b_pipeline

    dev.reset_peak()
    accelerator = Accelerator(mixed_precision="bf16" if dev.cuda else "no", cpu=not dev.cuda)
    base_dtype = torch.bfloat16 if dev.cuda else torch.float32
    pipe = cogvideox_2b_pipeline(device=dev.name, dtype=base_dtype, text_encoder=False, shrink=args.dry_run)
    # Full fine-tuning keeps fp32 master weights; a LoRA trains fp32 adapters on a bf16 base.
    spec = CogVideoXSpec("CogVideoX-2B (random)", device=dev.name, dtype=base_dtype, pipe=pipe,
                         transformer_dtype=torch.float32 if mode == "full" else base_dtype)
    transformer = spec.transformer
    if mode == "lora":
        from peft import LoraConfig

        transformer.requires_grad_(False)
        transformer.add_adapter(LoraConfig(r=64, lora_alpha=64, init_lora_weights=True,
                                           target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
        for parameter in transformer.parameters():
            if parameter.requires_grad:
                parameter.data = parameter.data.float()
    else:
        transformer.requires_grad_(True)
    transformer.enable_gradient_checkpointing()
    transformer.train()
    trainable = [p for p in transformer.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-4 if mode == "lora" else 1e-5, betas=(0.9, 0.95))
    model, optimizer = accelerator.prepare(transformer, optimizer)
    shape = spec.latent_shape(1, args.frames, args.height, args.width)
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(shape, generator=generator).to(dev.name)  # cached VAE latents
    embeds = torch.randn((1, args.text_length, pipe.transformer.config.text_embed_dim), generator=generator).to(dev.name)
    alphas_cumprod = spec.alphas_cumprod.to(dev.name)
    loaded_gib = dev.torch.cuda.memory_allocated() / GiB if dev.cuda else None

    def step():
        t = torch.randint(0, spec.num_train_timesteps, (1,), generator=generator).to(dev.name)
        a = alphas_cumprod[t]
        noisy = obj.add_noise(latents, torch.randn(shape, generator=generator).to(dev.name), a)
        with accelerator.autocast():
            v = spec.predict_v(model, noisy, embeds, t)
        loss = obj.diffusion_loss_per_sample(obj.v_to_x0(v.float(), noisy, a), latents, a).mean()
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    times = dev.repeat(step, args.warmup_steps, args.train_steps)
    published = PUBLISHED_TRAINING_GB["lora_r64" if mode == "lora" else "full_loaded"]
    result = {
        "mode": "LoRA r64" if mode == "lora" else "full fine-tuning",
        "weights": "bf16 base, fp32 LoRA" if mode == "lora" else "fp32 master weights, bf16 autocast",
        "trainable_params": sum(p.numel() for p in trainable),
        "total_params": sum(p.numel() for p in transformer.parameters()),
        "step_s": times, "median_step_s": statistics.median(times),
        "loaded_gib": loaded_gib, "peak_gib": dev.peak_gib(),
        "peak_reserved_gib": dev.torch.cuda.max_memory_reserved() / GiB if dev.cuda else None,
        "published_gb": published,
    }
    if mode == "full":
        result["published_training_peak_gb"] = PUBLISHED_TRAINING_GB["full_adamw_peak"]
    del model, optimizer, transformer, spec, pipe, latents, embeds, trainable
    return result


# ---------------------------------------------------------------------------------------------
# 3. Critic


def bench_critic(args, dev: Device) -> dict:
    import numpy as np
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Qwen2VLForConditionalGeneration

    from alignment.engine.critic.loss import answer_loss
    from alignment.engine.critic.questions import DIMENSIONS, RATINGS
    from alignment.engine.critic.score import score_queries
    from alignment.engine.critic.spec import CriticMeta, Query, VisionGeometry, collate, load_tokenizer
    from alignment.engine.critic.tiny import build_tiny_critic
    from alignment.engine.critic.train import LLM_LORA_TARGETS
    from alignment.engine.reference_configs import QWEN2_VL_VIDEO_PIXELS, qwen2_vl_2b_config

    dev.reset_peak()
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = load_tokenizer(build_tiny_critic(Path(tmp) / "tok"))  # special tokens; ids fit Qwen's vocab
    ids = tokenizer.convert_tokens_to_ids
    changes = dict(video_token_id=ids("<|video_pad|>"), image_token_id=ids("<|image_pad|>"),
                   vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"))
    if args.dry_run:
        changes.update(hidden_size=64, intermediate_size=128, num_hidden_layers=1, num_attention_heads=4,
                       num_key_value_heads=2, rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]},
                       vision_config=dict(depth=1, embed_dim=32, hidden_size=64, mlp_ratio=2, num_heads=2,
                                          patch_size=14, spatial_merge_size=2, temporal_patch_size=2))
    config = qwen2_vl_2b_config(**changes)
    dtype = torch.bfloat16 if dev.cuda else torch.float32
    torch.manual_seed(0)
    with torch.device(dev.name):
        model = Qwen2VLForConditionalGeneration(config).to(dtype)
    model.tie_weights()
    params = sum(p.numel() for p in model.parameters())
    geometry = VisionGeometry.from_config(config)
    low, high = QWEN2_VL_VIDEO_PIXELS
    meta = CriticMeta(num_frames=8, min_pixels=low, max_pixels=high)
    size = meta.frame_size_for(args.height, args.width, geometry)
    if args.dry_run:
        size = (56, 84)
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (8, *size, 3), dtype=np.uint8)
    queries = [Query(frames, "a red fox runs across a snowy field", DIMENSIONS[i % 3], RATINGS[i % 3],
                     "The fox's legs blur when it turns.", fps=8 / 49 * 8) for i in range(args.critic_batch)]
    tokens = geometry.num_video_tokens(8, size)

    # Scoring: the engine's batched read-out of the rating words.
    model.eval()
    score_queries(model, tokenizer, geometry, queries[:2], batch_size=2, device=dev.name)  # warm-up
    score_times = [dev.timed(lambda: score_queries(model, tokenizer, geometry, queries, batch_size=len(queries),
                                                   device=dev.name))[0] for _ in range(args.score_repeats)]
    score_peak = dev.peak_gib()

    # Training: LoRA on every LLM linear layer, vision frozen, gradient checkpointing, as train_critic does.
    dev.reset_peak()
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules=LLM_LORA_TARGETS, bias="none"))
    for parameter in model.parameters():
        if parameter.requires_grad:
            parameter.data = parameter.data.float()
    model.gradient_checkpointing_enable()
    model.enable_input_require_grads()
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-4)
    batch = collate(tokenizer, queries, geometry, with_reason=True, with_answer=True)

    def step():
        inputs = {k: v.to(dev.name) for k, v in batch.items() if k != "labels"}
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dev.cuda):
            logits = model(**inputs).logits
        loss = answer_loss(logits, batch["labels"].to(dev.name))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    train_times = dev.repeat(step, args.warmup_steps, args.train_steps)
    result = {
        "params": params, "frame_size": list(size), "video_tokens_per_query": tokens,
        "sequence_length": int(batch["input_ids"].shape[1]), "batch": len(queries),
        "score_s_per_batch": score_times, "score_queries_per_s": len(queries) / statistics.median(score_times),
        "score_videos_per_s_3_dimensions": len(queries) / 3 / statistics.median(score_times),
        "score_peak_gib": score_peak,
        "train_step_s": train_times, "median_train_step_s": statistics.median(train_times),
        "train_peak_gib": dev.peak_gib(),
    }
    del model, optimizer, trainable
    return result


# ---------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--parts", default="generation,lora,full,critic", help="which parts, comma-separated")
    parser.add_argument("--videos", type=int, default=2, help="timed videos after a 2-step warm-up")
    parser.add_argument("--train-steps", type=int, default=5)
    parser.add_argument("--warmup-steps", type=int, default=2)
    parser.add_argument("--score-repeats", type=int, default=5)
    parser.add_argument("--critic-batch", type=int, default=8)
    parser.add_argument("--dry-run", action="store_true", help="tiny shapes on the CPU: checks the script, measures nothing")
    parser.add_argument("--skip-without-cuda", action="store_true", help="exit 0, not 2, without CUDA (make bench)")
    args = parser.parse_args(argv)
    import torch

    args.frames, args.height, args.width, args.steps, args.text_length = 49, 480, 720, 50, 226
    if args.dry_run:
        args.frames, args.height, args.width, args.steps = 9, 64, 96, 2
        args.videos, args.train_steps, args.warmup_steps, args.score_repeats, args.critic_batch = 1, 1, 0, 1, 3
        device = "cpu"
    elif not torch.cuda.is_available():
        print("gpu_bench.py measures a CUDA GPU and none is available here "
              f"(torch {torch.__version__}); nothing was run. --dry-run checks the script on the CPU.", file=sys.stderr)
        return 0 if args.skip_without_cuda else 2
    else:
        device = "cuda"
        torch.backends.cuda.matmul.allow_tf32 = True
    dev = Device(device)
    machine = {
        "device": torch.cuda.get_device_name(0) if dev.cuda else "CPU (dry run: not a measurement)",
        "torch": torch.__version__, "python": platform.python_version(),
        "cuda": torch.version.cuda if dev.cuda else None,
    }
    for name in ("diffusers", "transformers", "peft", "accelerate"):
        machine[name] = __import__(name).__version__
    log(f"machine: {machine}")
    results: dict = {"machine": machine, "dry_run": args.dry_run, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    parts = args.parts.split(",")
    runners = {"generation": lambda: bench_generation(args, dev), "lora": lambda: bench_training(args, dev, "lora"),
               "full": lambda: bench_training(args, dev, "full"), "critic": lambda: bench_critic(args, dev)}
    failed = []
    for part in parts:
        started = time.perf_counter()
        try:
            results[part] = runners[part]()
        except Exception as error:  # one part's failure leaves the others' figures
            failed.append(part)
            results[part] = {"error": f"{type(error).__name__}: {error}"}
            log(f"{part}: FAILED {type(error).__name__}: {error}")
        results[part]["wall_s"] = time.perf_counter() - started
        log(f"{part}: {json.dumps(results[part], default=str)[:600]}")
        if args.json:  # after each part, so a run cut short keeps what it measured
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=1, default=str))
        gc.collect()
        if dev.cuda:
            torch.cuda.empty_cache()
    print(summary(results))
    return 1 if failed else 0


def summary(results: dict) -> str:
    lines = [f"\n### {results['machine']['device']} (torch {results['machine']['torch']})"]
    gen = results.get("generation", {})
    if "median_s_per_video" in gen:
        lines.append(f"generation: {gen['median_s_per_video']:.1f} s/video median ({gen['what']}), peak "
                     f"{gen['peak_gib'] or float('nan'):.1f} GiB; published {gen['published_s_per_video']}")
    for mode in ("lora", "full"):
        run = results.get(mode, {})
        if "median_step_s" in run:
            lines.append(f"{run['mode']}: {run['median_step_s']:.2f} s/step, peak {run['peak_gib'] or float('nan'):.1f} GiB "
                         f"(published {run['published_gb']} GB)")
    critic = results.get("critic", {})
    if "median_train_step_s" in critic:
        lines.append(f"critic: train step {critic['median_train_step_s']:.2f} s (batch {critic['batch']}), scoring "
                     f"{critic['score_queries_per_s']:.1f} queries/s, peak {critic['train_peak_gib'] or float('nan'):.1f} GiB")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
