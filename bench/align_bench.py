"""Alignment training-step bench on the tiny CogVideoX (CPU): step time with and without the
latent/embedding cache, and the share of a step spent loading data (VAE encode + T5).

    PYTHONPATH=. .venv/bin/python bench/align_bench.py [--steps 15]
Prints a Markdown block for bench/RESULTS.md ("## Alignment").
"""
import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from alignment.engine.align import objectives as obj
from alignment.engine.align.cache import FeatureCache
from alignment.engine.align.data import VideoSource, frames_to_tensor
from alignment.engine.align.model import CogVideoXSpec, model_identity
from alignment.engine.synthetic import SyntheticGenerator, render, sample_prompt
from alignment.engine.tiny import build_tiny_cogvideox

try:
    from bench._harness import machine_description
except Exception:  # the harness needs nothing from Django for this, but stay runnable alone
    def machine_description() -> str:
        return f"{platform.processor()} {platform.system()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--batch", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        base = str(build_tiny_cogvideox(Path(tmp) / "tiny"))
        spec = CogVideoXSpec(base)
        transformer = spec.transformer
        transformer.requires_grad_(True)
        optimizer = torch.optim.AdamW(transformer.parameters(), lr=1e-4, betas=(0.9, 0.95))
        rng = np.random.default_rng(0)
        prompts = [sample_prompt(rng).to_text() for _ in range(args.batch)]
        world = SyntheticGenerator()
        clips = []
        for i, p in enumerate(prompts):
            truth = world.truth(p, i)
            clips.append(render(truth.spec, truth.defects, frames=9, size=(32, 32), seed=i))
        cache = FeatureCache(Path(tmp) / "cache", model_identity(base))

        def load(cached: bool):
            if cached:
                latents = cache.video_latents(spec, [VideoSource(frames=c) for c in clips], 9, 32, 32)
                embeds = cache.text_embeddings(spec, prompts, 16)
            else:
                latents = spec.encode_videos(torch.stack([frames_to_tensor(c) for c in clips]))
                embeds = spec.encode_prompts(prompts, 16)
            return latents, embeds

        def step(latents, embeds, k):
            g = torch.Generator().manual_seed(k)
            t = torch.randint(0, spec.num_train_timesteps, (latents.shape[0],), generator=g)
            a = spec.alphas_cumprod[t]
            noisy = obj.add_noise(latents, torch.randn(latents.shape, generator=g), a)
            v = spec.predict_v(transformer, noisy, embeds, t)
            loss = obj.diffusion_loss_per_sample(obj.v_to_x0(v, noisy, a), latents, a).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(transformer.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad()

        figures = {}
        for cached in (False, True):
            load(cached)  # warm-up (fills the cache in the cached case)
            loads, totals = [], []
            for k in range(args.steps):
                t0 = time.perf_counter()
                latents, embeds = load(cached)
                t1 = time.perf_counter()
                step(latents, embeds, k)
                t2 = time.perf_counter()
                loads.append(t1 - t0)
                totals.append(t2 - t0)
            figures[cached] = (statistics.median(totals), statistics.median(loads))
    print("## Alignment\n")
    print(f"Machine: {machine_description()}; torch {torch.__version__}, {torch.get_num_threads()} threads; shared, busy cores.\n")
    print(f"Tiny CogVideoX (1 layer, 9 frames at 32×32 → latents 3×4×4×4), batch {args.batch}, median of {args.steps} steps "
          "(load + forward + backward + AdamW):\n")
    print("| data path | step (ms) | data loading (ms) | data-loading share |")
    print("|---|---|---|---|")
    for cached, label in ((False, "encode every step (VAE + T5)"), (True, "latent/embedding cache on disk")):
        total, load_s = figures[cached]
        print(f"| {label} | {total * 1e3:.1f} | {load_s * 1e3:.1f} | {100 * load_s / total:.0f}% |")


if __name__ == "__main__":
    main()
