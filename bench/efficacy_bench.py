"""Does the loop's machinery work in the synthetic world, measured against the truth? (issue "prove the loop")

    .venv/bin/python bench/efficacy_bench.py [--parts judge,generator,critic,align,pairwise] [--seeds 3]

  judge      the pixel judge against the oracle on fresh renders, per dimension
  generator  the pretrained tiny generator's samples, rated by the judge (its room to improve)
  critic     the pretrained tiny critic fine-tuned on simulated annotators' ratings (10% noise), with and
             without reasons, against the truth on held-out videos, beside the majority baseline
  align      reward_weighted, rejection and dpo against the uniform-weight control over several seeds, λ = 1
             beside λ = 0, and edit_reward with the critic as its differentiable reward; every run measured
             on held-out prompts by the judge (and by the critic, so reward hacking shows)
  dpo        DPO from people's preferences (issue "pairwise preference"): simulated annotators (the judge, 10%
             noise, 3 per pair) compare every two of the base generator's samples of a prompt; DPO on their
             consensus against the same pairs with coin-flipped sides and against uniform fine-tuning on the
             same samples, over several seeds, judged on held-out prompts (no critic in the run)
  pairwise   a Bradley–Terry critic from the pretrained tiny critic on world pairs judged by the truth (10%
             noise), its held-out pairwise accuracy with and without ties per seed (not in the default parts)

Numbers go to bench/results/efficacy.json (one section per part, merged with what is there); a summary
for bench/RESULTS.md is printed. The machine and its load average are recorded beside every figure.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._harness import machine_description  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "efficacy.json"
DIMENSIONS = ("semantic", "motion", "fidelity")


def _stamp() -> dict:
    return {"machine": machine_description(), "load_average": round(os.getloadavg()[0], 2),
            "at": time.strftime("%Y-%m-%dT%H:%M:%S")}


def judge_part(videos: int) -> dict:
    import numpy as np

    from alignment.engine.synthetic import CLIP_FRAMES, CLIP_SIZE, judge, oracle_judge, render, sample_defects, sample_prompt

    rng = np.random.default_rng(2025)
    agree = {d: 0 for d in DIMENSIONS}
    for index in range(videos):
        spec, defects = sample_prompt(rng), sample_defects(rng)
        verdict = judge(render(spec, defects, frames=CLIP_FRAMES, size=CLIP_SIZE, seed=20_000 + index), spec)
        for dim, truth in oracle_judge(spec, defects).items():
            agree[dim] += verdict.ratings[dim] == truth.rating
    return {"videos": videos, "agreement": {d: round(n / videos, 4) for d, n in agree.items()}, **_stamp()}


def generator_part(models: dict, prompts: int) -> dict:
    from alignment.engine.align.experiment import AlignmentSetup, generate_all, generator_spec
    from alignment.engine.synthetic import distinct_prompts, judge

    setup = AlignmentSetup()
    videos = generate_all(generator_spec(str(models["tiny-cogvideox"]), setup), distinct_prompts(prompts, 99), (0, 1))
    counts = {d: {"Good": 0, "Normal": 0, "Bad": 0} for d in DIMENSIONS}
    for prompt, _, frames in videos:
        for dim, rating in judge(frames, prompt).ratings.items():
            counts[dim][rating] += 1
    return {"videos": len(videos), "judge_ratings": counts,
            "good_share": {d: round(c["Good"] / len(videos), 3) for d, c in counts.items()}, **_stamp()}


def critic_part(models: dict, train_videos: int) -> dict:
    from alignment.engine.critic.experiment import LearningSetup, run_learning_experiment, summary

    out = {}
    for with_reasons in (True, False):
        # The base's recipe as shipped (its steps, validation-selected), with and without reasons.
        setup = LearningSetup(base=str(models["tiny-critic"]), train_videos=train_videos, with_reasons=with_reasons)
        with tempfile.TemporaryDirectory() as tmp:
            report = run_learning_experiment(setup, tmp)
        figures = summary(report)
        figures["mean"] = round(sum(figures[d]["accuracy"] for d in DIMENSIONS) / 3, 4)
        out["with_reasons" if with_reasons else "without_reasons"] = {
            **figures, "train_videos": train_videos, "train_s": round(report["train_s"], 1), **_stamp()}
    out["lift_critic_40b_mean"] = 0.936
    return out


CRITIC_GENERATOR_PROMPTS = 150  # the align part's critic: the generator's prompts rated (× 3 seeds), by default


def _generator_critic(models: dict, work: Path, setup, generator_prompts: int = CRITIC_GENERATOR_PROMPTS) -> str:
    """A critic for the generator's videos: the pretrained critic fine-tuned on world renders (oracle) and on
    the base generator's own samples (the judge), both with 10% label noise — as annotators would rate them.
    `setup` (an AlignmentSetup): how those samples are drawn (its sampling steps and guidance); `generator_prompts`
    × 3 seeds of them are rated (the world has about a thousand prompts, so a few of the held-out ones are among
    them, as they would be among a product's rated prompts; the generator never trains on them)."""
    import numpy as np

    from alignment.engine.align.experiment import generate_all, generator_spec
    from alignment.engine.synthetic import distinct_prompts
    from alignment.engine.critic.data import CriticExample
    from alignment.engine.critic.experiment import base_recipe
    from alignment.engine.critic.synthetic_data import annotated_examples, noisy_rating, synthetic_videos, truth_examples
    from alignment.engine.critic.train import CriticTrainConfig, train_critic
    from alignment.engine.synthetic import judge, parse_prompt
    from alignment.engine.synthetic.reasons import judged_reasons

    rng = np.random.default_rng(5)
    sampled = generate_all(generator_spec(str(models["tiny-cogvideox"]), setup), distinct_prompts(generator_prompts, 55), (0, 1, 2))
    examples = []
    for prompt, _, frames in sampled:
        verdict = judge(frames, prompt)
        reasons = judged_reasons(parse_prompt(prompt), verdict)
        for dim in DIMENSIONS:
            rating = noisy_rating(verdict.ratings[dim], 0.1, rng)
            examples.append(CriticExample(frames, prompt, dim, rating, reasons[dim] if rating == verdict.ratings[dim] else ""))
    examples += annotated_examples(synthetic_videos(600, seed=56), noise=0.1, seed=3)
    config = CriticTrainConfig(**{"eval_every": 200, "eval_batch_size": 96, **base_recipe(str(models["tiny-critic"])),
                                  "base": str(models["tiny-critic"]), "checkpoint_every": 0})
    result = train_critic(config, examples, truth_examples(synthetic_videos(60, seed=57)), work / "critic")
    return str(result.critic_dir)


def _align_arms(base) -> dict[str, tuple[object, bool]]:
    """name → (setup, run at every seed); "topk" is the top quarter by the critic's reward, standing in for LiFT's
    rejection (Good on every dimension), which keeps nothing of a generator the critic never rates Good on all
    three. The per-prompt arms weigh each prompt's samples among themselves (`per_prompt`). The `judge_` arms are
    the ceiling diagnostic: the same selection by the judge's own ratings, a critic that is never wrong."""
    best_of_n = replace(base, weighting="topk", top_fraction=1 / base.candidate_seeds, per_prompt=True)
    softmax_per_prompt = replace(base, weighting="softmax", per_prompt=True)
    return {
        "uniform": (replace(base, objective="uniform"), True),
        "lift": (base, True),
        "topk": (replace(base, weighting="topk"), True),
        "lambda": (replace(base, real_weight=1.0), False),
        "edit_reward": (replace(base, objective="edit_reward", steps=60, learning_rate=3e-4), False),
        "dpo": (replace(base, objective="dpo"), True),
        "lift_per_prompt": (replace(base, per_prompt=True), True),
        "softmax_per_prompt": (softmax_per_prompt, True),
        "best_of_n": (best_of_n, True),
        "best_of_n_lambda": (replace(best_of_n, real_weight=1.0), False),
        "judge_best_of_n": (replace(best_of_n, ranked_by="judge"), True),
        "judge_softmax_per_prompt": (replace(softmax_per_prompt, ranked_by="judge"), True),
        "judge_lift_per_prompt": (replace(base, per_prompt=True, ranked_by="judge"), True),
    }


ALIGN_ARMS_DEFAULT = "uniform,lift,topk,lambda,edit_reward,dpo"


def _align_arm(known: dict, name: str) -> tuple[object, bool] | None:
    """A named arm, or "<arm>_lambda_<λ>": that arm with the real-data term at weight λ, run at every seed."""
    arm, _, weight = name.rpartition("_lambda_")
    if arm in known and weight.replace(".", "", 1).isdigit():
        return replace(known[arm][0], real_weight=float(weight)), True
    return known.get(name)


def align_part(models: dict, seeds: int, arms: str = ALIGN_ARMS_DEFAULT, first_seed: int = 0,
               candidate_seeds: int = 4, guidance: float | None = None, critic_guidance: float | None = None,
               critic_generator_prompts: int = CRITIC_GENERATOR_PROMPTS, candidate_prompts: int = 32) -> dict:
    """`critic_guidance`: the guidance of the samples the critic is fine-tuned on (default `guidance`: the
    annotators rate what the generator makes in the setting it is aligned in)."""
    from alignment.engine.align.experiment import AlignmentSetup, needs_critic, reward_hacking, run_alignment_experiment

    base = AlignmentSetup(candidate_seeds=candidate_seeds, candidate_prompts=candidate_prompts)
    if guidance is not None:
        base = replace(base, guidance=guidance)
    known = _align_arms(base)
    chosen = {name: _align_arm(known, name) for name in arms.split(",")}
    if unknown := [name for name, arm in chosen.items() if arm is None]:
        raise SystemExit(f"unknown align arms {unknown}; known: {', '.join(known)}, and any as <arm>_lambda_<λ>")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        setups = []
        for setup, every_seed in chosen.values():
            setups += [replace(setup, seed=first_seed + s) for s in range(seeds if every_seed else 1)]
        critic_setup = base if critic_guidance is None else replace(base, guidance=critic_guidance)
        critic_dir = (_generator_critic(models, tmp, critic_setup, critic_generator_prompts)
                      if any(map(needs_critic, setups)) else None)
        report = run_alignment_experiment(str(models["tiny-cogvideox"]), critic_dir, setups, tmp / "align",
                                          on_run=lambda run: print(json.dumps({"align_run": run}), flush=True))
    for run in report["runs"]:
        run["reward_hacking"] = reward_hacking(run)
    report.update(_stamp())
    return report


def dpo_part(models: dict, seeds: int, steps: int, prompts: int, heldout_prompts: int, sft_steps: int = 0,
             beta: float | None = None, learning_rate: float | None = None, first_seed: int = 0,
             guidance: float | None = None, preferences: str = "people") -> dict:
    """`preferences` "people": DPO on simulated people's comparisons beside its controls (coin-flipped sides, uniform
    fine-tuning). "critic": DPO on pairs the critic ranks (per prompt its best-scored sample against its worst, the
    `dpo` objective's path in the product), the critic taught as the align part's; its controls are the same
    setting's "people" section, whose candidates and held-out videos are the same (its base figure shows it)."""
    from alignment.engine.align.experiment import AlignmentSetup, reward_hacking, run_alignment_experiment

    base = AlignmentSetup(objective="dpo", preferences=preferences, steps=steps, candidate_prompts=prompts,
                          heldout_prompts=heldout_prompts, sft_steps=sft_steps)
    if guidance is not None:
        base = replace(base, guidance=guidance)
    if beta is not None:
        base = replace(base, dpo_beta=beta)
    if learning_rate is not None:  # DPO's own; the fine-tune before it and the uniform controls keep theirs
        base = replace(base, learning_rate=learning_rate)
    if preferences == "critic":
        arms = [base]
    elif sft_steps:  # DPO starts from the fine-tune: it is the control to beat, and so is as long a fine-tune
        uniform = replace(base, objective="uniform", learning_rate=base.sft_learning_rate)
        arms = [base, replace(base, preferences="shuffled"), replace(uniform, steps=sft_steps),
                replace(uniform, steps=sft_steps + steps)]
    else:
        arms = [base, replace(base, preferences="shuffled"), replace(base, objective="uniform")]
    setups = [replace(arm, seed=seed) for arm in arms for seed in range(first_seed, first_seed + seeds)]
    with tempfile.TemporaryDirectory() as tmp:
        critic_dir = _generator_critic(models, Path(tmp), base) if preferences == "critic" else None
        report = run_alignment_experiment(str(models["tiny-cogvideox"]), critic_dir, setups, Path(tmp) / "align",
                                          on_run=lambda run: print(json.dumps({"dpo_run": run}), flush=True))
    for run in report["runs"]:
        run["reward_hacking"] = reward_hacking(run)
    report.update(_stamp())
    return report


def pairwise_part(models: dict, seeds: int, steps: int, finetune: str, train_pairs: int, validation_pairs: int,
                  readout: str) -> dict:
    """The preference critic per seed, beside a rating critic (the base's recipe on 600 stored world renders,
    one noisy rating each) judged on the same held-out pairs through its expected rewards."""
    from alignment.engine.critic.experiment import LearningSetup, run_learning_experiment
    from alignment.engine.critic.pairwise_experiment import PairSetup, run_pairwise_experiment

    runs = []
    for seed in range(seeds):
        with tempfile.TemporaryDirectory() as tmp:
            rating = run_learning_experiment(LearningSetup(base=str(models["tiny-critic"]), seed=seed), tmp)
            runs.append(run_pairwise_experiment(PairSetup(
                base=str(models["tiny-critic"]), steps=steps, finetune=finetune, train_pairs=train_pairs, seed=seed,
                validation_pairs=validation_pairs, readout=readout, rating_critic=rating["critic_dir"])))
    return {"runs": runs, **_stamp()}


def _signed(share: float | None) -> str:
    return "" if share is None else f"{share:+.1%}"


def _align_section(args) -> str:
    """efficacy.json's section for an align setting. Other arms than the default get a section of their own, so the
    headline run stays; so does each setting, so that a rerun of one does not overwrite another's figures."""
    section = "align" if args.align_arms == ALIGN_ARMS_DEFAULT else f"align_{args.align_arms.replace(',', '_')}"
    if args.candidate_prompts != 32:
        section += f"_{args.candidate_prompts}_candidate_prompts"
    if args.candidate_seeds != 4:
        section += f"_{args.candidate_seeds}_candidate_seeds"
    if args.guidance is not None:
        section += f"_guidance_{args.guidance:g}"
    if args.guidance is not None or args.critic_guidance is not None:  # sections without it: a critic rated at 4
        critic_guidance = args.critic_guidance if args.critic_guidance is not None else args.guidance
        section += f"_critic_guidance_{critic_guidance:g}"
    if args.critic_generator_prompts != CRITIC_GENERATOR_PROMPTS:
        section += f"_critic_on_{args.critic_generator_prompts}_generator_prompts"
    return section + (f"_from_seed_{args.first_seed}" if args.first_seed else "")


def _dpo_section(args) -> str:
    """efficacy.json's section for a DPO setting: each variant keeps its own (dpo, dpo_after_sft_lr_0.0003, …)."""
    name = "dpo_after_sft" if args.dpo_sft_steps else "dpo"
    if args.dpo_preferences != "people":
        name += f"_{args.dpo_preferences}_pairs"
    for label, value in (("beta", args.dpo_beta), ("lr", args.dpo_lr), ("guidance", args.guidance)):
        if value:
            name += f"_{label}_{value:g}"
    return name + (f"_seeds_from_{args.first_seed}" if args.first_seed else "")


def _pairwise_section(args) -> str:
    """efficacy.json's section for a world-pairs setting; a rerun on a changed base names itself with --section-suffix."""
    section = "pairwise" + (f"_validated_on_{args.pairwise_validation_pairs}_pairs" if args.pairwise_validation_pairs else "")
    if args.pairwise_readout != "caption":
        section += f"_{args.pairwise_readout}_readout"
    return section + args.section_suffix


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parts", default="judge,generator,critic,align")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--judge-videos", type=int, default=1000)
    parser.add_argument("--critic-videos", type=int, default=1500)
    # The defaults are the headline run's (bench/RESULTS.md "The Bradley–Terry critic on world pairs").
    parser.add_argument("--pairwise-steps", type=int, default=2000)
    parser.add_argument("--pairwise-train-pairs", type=int, default=4800, help="pairwise: noisy training pairs")
    parser.add_argument("--pairwise-validation-pairs", type=int, default=0,
                        help="pairwise: noisy validation pairs; the trainer keeps its best step's weights (0: the last)")
    parser.add_argument("--pairwise-readout", default="questions",
                        help='pairwise: "questions" (each dimension after its rating question, the job\'s default) or '
                             '"caption" (the last token after the caption; the sections without a readout in their name)')
    parser.add_argument("--pairwise-finetune", default="language", help='pairwise: "full", "lora" or "language" (the tower frozen)')
    parser.add_argument("--align-arms", default=ALIGN_ARMS_DEFAULT,
                        help="align: which arms, comma-separated (also lift_per_prompt, softmax_per_prompt, best_of_n, "
                             "best_of_n_lambda, and the ceiling diagnostic judge_best_of_n, judge_softmax_per_prompt, "
                             "judge_lift_per_prompt; <arm>_lambda_<λ> runs an arm with the real-data term at every seed)")
    parser.add_argument("--candidate-prompts", type=int, default=32, help="align: prompts the candidates are drawn for")
    parser.add_argument("--candidate-seeds", type=int, default=4, help="align: seeds generated per candidate prompt")
    parser.add_argument("--guidance", type=float, default=None,
                        help="align, dpo: classifier-free guidance of the candidates, the training and the held-out videos "
                             "(default 4; 1 samples without guidance, so fine-tuning on its own samples distils none)")
    parser.add_argument("--critic-guidance", type=float, default=None,
                        help="align: guidance of the generator samples the critic is fine-tuned on (default --guidance)")
    parser.add_argument("--critic-generator-prompts", type=int, default=CRITIC_GENERATOR_PROMPTS,
                        help="align: the generator's prompts (× 3 seeds) rated for the critic, beside 600 world renders")
    parser.add_argument("--dpo-steps", type=int, default=150)
    parser.add_argument("--dpo-prompts", type=int, default=32, help="candidate prompts (4 seeds each)")
    parser.add_argument("--heldout-prompts", type=int, default=32, help="dpo: held-out prompts (2 seeds each)")
    parser.add_argument("--dpo-sft-steps", type=int, default=0,
                        help="dpo: a uniform fine-tune of this many steps first, DPO from it with it as reference")
    parser.add_argument("--dpo-beta", type=float, default=None, help="dpo: β (default the trainer's)")
    parser.add_argument("--dpo-preferences", choices=("people", "critic"), default="people",
                        help="dpo: pairs from simulated people's comparisons (with controls), or ranked by a critic "
                             "taught on the generator's samples and world renders (best against worst per prompt)")
    parser.add_argument("--dpo-lr", type=float, default=None, help="dpo: its learning rate (default 1e-3)")
    parser.add_argument("--first-seed", type=int, default=0, help="align, dpo: training seeds first-seed … first-seed + seeds − 1")
    parser.add_argument("--section-suffix", default="", help="pairwise: appended to its section, so a rerun keeps the figures before it")
    args = parser.parse_args()
    from alignment.engine.pretrain import install_shipped

    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        models = install_shipped(tmp)
        parts = args.parts.split(",")
        if "judge" in parts:
            figures["judge"] = judge_part(args.judge_videos)
        if "generator" in parts:
            figures["generator"] = generator_part(models, 64)
        if "critic" in parts:
            figures["critic"] = critic_part(models, args.critic_videos)
        if "align" in parts:
            figures[_align_section(args)] = align_part(models, args.seeds, args.align_arms, args.first_seed,
                                                       args.candidate_seeds, args.guidance, args.critic_guidance,
                                                       args.critic_generator_prompts, args.candidate_prompts)
        if "dpo" in parts:
            figures[_dpo_section(args)] = dpo_part(models, args.seeds, args.dpo_steps, args.dpo_prompts, args.heldout_prompts,
                                    args.dpo_sft_steps, args.dpo_beta, args.dpo_lr, args.first_seed, args.guidance,
                                                       args.dpo_preferences)
        if "pairwise" in parts:
            figures[_pairwise_section(args)] = pairwise_part(models, args.seeds, args.pairwise_steps, args.pairwise_finetune,
                                                             args.pairwise_train_pairs, args.pairwise_validation_pairs,
                                                             args.pairwise_readout)
    # Read at the end, not the start: another bench (loop_bench) may have written its section meanwhile.
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({**(json.loads(RESULTS.read_text()) if RESULTS.exists() else {}), **figures}, indent=1))
    print(json.dumps({k: v for k, v in figures.items() if not k.startswith(("align", "dpo"))}, indent=1))
    for section in [k for k in figures if k.startswith("align")]:
        print("| objective | seed | λ | judged before → after | gain | critic gain | hacking |\n|---|---:|---:|---|---:|---:|---|")
        before = figures[section]["base"]["judged"]
        for run in figures[section]["runs"]:
            s = run["setup"]
            weighting = s["weighting"] + (", per prompt" if s.get("per_prompt") else "")
            weighting += ", by the judge" if s.get("ranked_by") == "judge" else ""
            print(f"| {s['objective']} ({weighting}) | {s['seed']} | {s['real_weight']} | {before:.3f} → {run['after']['judged']:.3f} | "
                  f"{run['judged_gain']:+.1%} | {_signed(run['critic_gain'])} | {run['reward_hacking']} |")
        print("critic against the judge on the base's held-out videos:", figures[section]["base"]["critic_agreement"],
              "rank correlation", figures[section]["base"]["critic_judge_rank_correlation"])
    for key in [k for k in figures if k.startswith("dpo")]:
        print(f"{key}\n| arm | seed | steps | judged before → after | gain | critic gain | hacking | seconds |\n"
              "|---|---:|---:|---|---:|---:|---|---:|")
        before = figures[key]["base"]["judged"]
        for run in figures[key]["runs"]:
            s = run["setup"]
            arm = s["objective"] if s["objective"] != "dpo" else f"dpo ({s['preferences']})"
            steps = f"{s.get('sft_steps', 0)}+{s['steps']}" if s["objective"] == "dpo" and s.get("sft_steps") else s["steps"]
            print(f"| {arm} | {s['seed']} | {steps} | {before:.3f} → {run['after']['judged']:.3f} | "
                  f"{run['judged_gain']:+.1%} | {_signed(run['critic_gain'])} | {run['reward_hacking']} | {run['seconds']} |")


if __name__ == "__main__":
    main()
