"""Does alignment learn? Held-out reward after training, against controls, on the tiny CogVideoX.

The reward is a property of the decoded frames whose truth is known: warmth = mean red − mean blue
over all pixels of all frames, in [−1, 1]. The synthetic colour reward cannot be used here: the tiny
model's VAE has random weights, so every decoded video scores ≈ 0.03 on it and there is nothing to
select. Warmth does vary across the tiny model's own samples (16×16, 4 DDIM steps: mean ≈ 0.065,
std ≈ 0.045 over 48 samples, range 0.03–0.16), and it is differentiable for edit_reward.

Every run has fixed seeds; held-out prompts are not in the training set and are scored with fixed
noise seeds (`validation_seeds`), so a comparison between runs differs only in what is compared.
Figures and runtime: bench/RESULTS.md, "## Alignment".
"""

import shutil
import time

import numpy as np
import pytest

from alignment.engine.align import AlignConfig, RealClip, ScoredSample, align, generate_scored_samples
from alignment.engine.align.model import CogVideoXSpec
from alignment.engine.synthetic import SyntheticGenerator, render, sample_prompt

pytestmark = pytest.mark.slow

# guidance 1: these figures were measured on unguided samples; the tiny model's T5 is random, so
# classifier-free guidance (AlignConfig's default 6, a real generator's) would only amplify noise here.
SIZE = dict(frames=9, height=16, width=16, max_sequence_length=16, sample_steps=4, guidance=1.0)
SEEDS = (0, 1, 2)
VALIDATION_SEEDS = (0, 1)


def warmth(videos, prompts, metadata=None):
    """Mean red minus mean blue of videos [B, T, 3, H, W] in [0, 1] → [B]; differentiable."""
    return videos[:, :, 0].mean(dim=(1, 2, 3)) - videos[:, :, 2].mean(dim=(1, 2, 3))


def test_warmth_is_red_minus_blue():
    import torch

    video = torch.zeros(2, 3, 3, 4, 4)
    video[0, :, 0] = 0.8  # red everywhere
    video[1, :, 2] = 0.5  # blue everywhere
    video[1, 0, 0] = 0.3  # and some red in one of three frames
    assert warmth(video, ["", ""]).tolist() == pytest.approx([0.8, 0.1 - 0.5])


@pytest.fixture(scope="module")
def prompts():
    """12 training prompts and 8 held-out prompts, all different."""
    rng = np.random.default_rng(0)
    found: list[str] = []
    while len(found) < 20:
        prompt = sample_prompt(rng).to_text()
        if prompt not in found:
            found.append(prompt)
    train, held_out = found[:12], found[12:]
    assert not set(train) & set(held_out)
    return train, held_out


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("learning")


def own_samples(base: str, train: list[str], per_prompt: int = 4) -> list[ScoredSample]:
    """The model's own samples (latents) scored by warmth: noise seeds 1000+ (validation uses 0–7, 7919–7926)."""
    spec = CogVideoXSpec(base)
    config = AlignConfig(base=base, output_dir="unused", **SIZE)
    chosen = [p for p in train for _ in range(per_prompt)]
    return generate_scored_samples(spec, spec.transformer, chosen, [1000 + i for i in range(len(chosen))], warmth, config, batch_size=16)


def run(base, workdir, name, samples, held_out, real=(), **overrides):
    settings = dict(
        base=base, output_dir=str(workdir / name), cache_dir=str(workdir / "cache"), objective="reward_weighted",
        real_weight=0.0, learning_rate=1e-3, steps=30, batch_size=8, lora_rank=None, checkpoint_every=0,
        validation_seeds=VALIDATION_SEEDS, **SIZE,
    )
    settings.update(overrides)
    return align(AlignConfig(**settings), samples, list(real), reward_fn=warmth, validation_prompts=held_out)


# ---------------------------------------------------------------------------------------------
# 1. reward_weighted and rejection against a uniform-weight control, 3 seeds


@pytest.fixture(scope="module")
def random_model_runs(tiny_cogvideox_dir, prompts, workdir):
    """held_out(kind) → final held-out mean reward per seed, computed once per kind."""
    train, held_out = prompts
    base = str(tiny_cogvideox_dir)
    samples = own_samples(base, train)
    rewards = np.array([s.reward for s in samples])
    assert rewards.std() > 0.3 * abs(rewards.mean())  # the spread weighting can select from
    kinds = {
        "uniform": dict(weighting="uniform"),
        "lift": dict(weighting="lift"),
        "rejection": dict(objective="rejection"),
    }
    done: dict[str, np.ndarray] = {}

    def held_out_rewards(kind: str) -> np.ndarray:
        if kind not in done:
            started = time.perf_counter()
            done[kind] = np.array([
                run(base, workdir, f"{kind}-{seed}", samples, held_out, seed=seed, **kinds[kind]).validation[-1]["mean_reward"]
                for seed in SEEDS
            ])
            print(f"{kind}: {done[kind].round(4)} ({time.perf_counter() - started:.1f}s for {len(SEEDS)} runs)")
        return done[kind]

    return held_out_rewards


@pytest.mark.parametrize("kind", ["lift", "rejection"])
def test_weighting_beats_uniform_control_on_held_out_prompts(random_model_runs, kind):
    control = random_model_runs("uniform")
    trained = random_model_runs(kind)
    margins = trained - control
    print(f"{kind} − uniform per seed: {margins.round(4)}, mean {margins.mean():.4f}, control std {control.std(ddof=1):.4f}")
    assert margins.min() > 0, (trained, control)
    assert margins.mean() > 2 * control.std(ddof=1), (trained, control)


# ---------------------------------------------------------------------------------------------
# 2. From a generator first trained on real videos, with the real-data term (λ = 1)


def real_clip(prompt: str, seed: int) -> np.ndarray:
    truth = SyntheticGenerator(p_clean=1.0).truth(prompt, seed)
    return render(truth.spec, truth.defects, frames=SIZE["frames"], size=(SIZE["height"], SIZE["width"]), seed=seed)


def test_reward_weighting_with_real_term_raises_a_pretrained_generator(tiny_cogvideox_dir, prompts, workdir):
    """The real clips are clean synthetic renders. Through the random VAE they decode to warmth ≈ 0
    (below the random model's own samples), so here the real term pulls *against* the reward: the
    weighting (top quarter of the samples) has to win over it. The control differs only in uniform
    weights; it ends below the start."""
    train, held_out = prompts
    real = [RealClip(prompt=p, frames=real_clip(p, 200 + i)) for i, p in enumerate(train)]
    pretrain = run(
        str(tiny_cogvideox_dir), workdir, "pretrain", [ScoredSample(prompt=c.prompt, frames=c.frames, reward=1.0) for c in real],
        held_out, weighting="uniform", steps=40, batch_size=4,
    )
    assert np.mean(pretrain.losses[-10:]) < 0.6 * np.mean(pretrain.losses[:10])  # it learned the real clips
    base = workdir / "pretrained-base"  # the tiny pipeline with the pretrained transformer
    shutil.copytree(tiny_cogvideox_dir, base)
    shutil.rmtree(base / "transformer")
    shutil.copytree(pretrain.final_dir / "transformer", base / "transformer")

    samples = own_samples(str(base), train)

    def aligned(name, seed, **overrides):
        settings = dict(real_weight=1.0, real_batch_size=4, steps=30, validation_every=30, seed=seed, **overrides)
        return run(str(base), workdir, f"pretrained-{name}-{seed}", samples, held_out, real, **settings).validation

    weighted = [aligned("topk", seed, weighting="topk") for seed in SEEDS]
    control = aligned("uniform", 0, weighting="uniform")
    start = weighted[0][0]
    assert start["step"] == 0 and all(v[0]["mean_reward"] == start["mean_reward"] for v in [*weighted, control])
    start = start["mean_reward"]
    ends = np.array([v[-1]["mean_reward"] for v in weighted])
    print(f"pretrained start {start:.4f} → top-k + real per seed {ends.round(4)}; uniform + real (seed 0) {control[-1]['mean_reward']:.4f}")
    assert ends.min() > start
    assert ends.mean() - start > 2 * ends.std(ddof=1)
    assert ends[0] > control[-1]["mean_reward"]  # the weighting, not more training, raised it


# ---------------------------------------------------------------------------------------------
# 3. edit_reward on the differentiable reward


def test_edit_reward_raises_the_differentiable_reward_on_held_out_prompts(tiny_cogvideox_dir, prompts, workdir):
    train, held_out = prompts
    base = str(tiny_cogvideox_dir)
    samples = [ScoredSample(prompt=s.prompt, latents=s.latents) for s in own_samples(base, train, per_prompt=1)]
    validation = run(base, workdir, "edit", samples, held_out, objective="edit_reward", steps=12, batch_size=4, validation_every=12).validation
    start, end = np.array(validation[0]["rewards"]), np.array(validation[-1]["rewards"])
    print(f"edit_reward held-out warmth {start.mean():.4f} → {end.mean():.4f}; videos raised {np.mean(end > start):.0%}")
    assert validation[0]["step"] == 0 and validation[-1]["step"] == 12
    assert end.mean() > start.mean() + 2 * start.std()
    assert np.mean(end > start) >= 0.75
