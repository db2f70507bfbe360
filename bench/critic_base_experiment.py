"""Critic bases and the rating fine-tune on them (issue "prove the loop", bench/RESULTS.md "3d"). One JSON line each.

    .venv/bin/python bench/critic_base_experiment.py pretrain OUT [--videos 40000] [--steps 8000] [--phases 2]
    .venv/bin/python bench/critic_base_experiment.py probe BASE [--train-videos 600]
    .venv/bin/python bench/critic_base_experiment.py finetune BASE [--train-videos 600] [--codec] [--no-reasons]
                                                             [--seed 0] [--recipe '{"finetune": "language"}']

pretrain: a random tiny critic (the shipped geometry) pretrained on world renders with the fact probes reading
the tokens' mean and spread, in phases: each phase has fresh renders (seed = phase), a fresh warm-up and cosine
schedule and fresh probes, and starts from the previous phase's weights (OUT/phase-N; the last is the base).
probe: is the rating linearly readable from the base's last two hidden states where the answer starts? An
L2-regularised logistic regression per dimension on the train videos' noisy ratings, accuracy on 240 held-out
videos against the oracle (the experiment harness's videos and annotators).
finetune: `run_learning_experiment` (600 videos rated by one simulated annotator with 10% noise, 60 validation,
240 held out) with the base's recipe changed by --recipe.
One torch thread each, so two runs can share the two cores.
"""
import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def pretrain(out: Path, videos: int, steps: int, phases: int) -> None:
    from alignment.engine.critic.tiny import build_tiny_critic
    from alignment.engine.pretrain.critic import PretrainConfig, pretrain_critic

    previous = build_tiny_critic(out / "random", seed=0)
    for phase in range(phases):
        config = PretrainConfig(videos=videos, steps=steps, fact_weight=1.0, fact_readout="mean+std", seed=phase)
        metrics = pretrain_critic(previous, out / f"phase-{phase}", config)
        previous = out / f"phase-{phase}"
        print(json.dumps({"phase": phase, "config": asdict(config), "metrics": metrics,
                          "load": round(os.getloadavg()[0], 2)}), flush=True)


def probe(base: str, train_videos: int) -> None:
    import torch

    from alignment.engine.critic.questions import DIMENSIONS, RATINGS
    from alignment.engine.critic.spec import Query, VisionGeometry, collate, load_critic
    from alignment.engine.critic.synthetic_data import annotated_examples, synthetic_videos

    model, tokenizer, _ = load_critic(base)
    geometry = VisionGeometry.from_config(model.config)

    def features(videos, dimension):
        queries = [Query(pixels, caption, dimension) for pixels, caption, _ in videos]
        out = []
        for start in range(0, len(queries), 64):
            batch = collate(tokenizer, queries[start:start + 64], geometry, with_reason=False, with_answer=False,
                            padding_side="left")
            with torch.no_grad():
                hidden = model(**batch, output_hidden_states=True).hidden_states
            out.append(torch.cat([hidden[-1][:, -1], hidden[-2][:, -1]], -1))
        return torch.cat(out)

    def fit(x, y, weight_decay):
        mean, spread = x.mean(0), x.std(0) + 1e-6
        linear = torch.nn.Linear(x.shape[1], len(RATINGS))
        optimiser = torch.optim.LBFGS(linear.parameters(), max_iter=500, line_search_fn="strong_wolfe")

        def closure():
            optimiser.zero_grad()
            loss = torch.nn.functional.cross_entropy(linear((x - mean) / spread), y) + weight_decay * linear.weight.pow(2).sum()
            loss.backward()
            return loss
        optimiser.step(closure)
        return lambda z: linear((z - mean) / spread).argmax(-1)

    train, test = synthetic_videos(train_videos, seed=11), synthetic_videos(240, seed=13)
    rated = annotated_examples(train, noise=0.1, seed=1)
    row = {"base": base, "train_videos": train_videos}
    for dimension in DIMENSIONS:
        y_train = torch.tensor([RATINGS.index(e.rating) for e in rated if e.dimension == dimension])
        y_test = torch.tensor([RATINGS.index(j[dimension].rating) for _, _, j in test])
        x_train, x_test = features(train, dimension), features(test, dimension)
        row[dimension] = {f"l2_{wd:g}": round(float((fit(x_train, y_train, wd)(x_test) == y_test).float().mean()), 3)
                          for wd in (1e-4, 1e-3, 1e-2)}
        row[dimension]["majority"] = round(float(np.bincount(y_test.numpy()).max() / len(y_test)), 3)
    print(json.dumps({**row, "load": round(os.getloadavg()[0], 2)}), flush=True)


def finetune(base: str, train_videos: int, codec: bool, reasons: bool, seed: int, recipe: dict) -> None:
    from alignment.engine.critic.experiment import LearningSetup, run_learning_experiment, summary

    setup = LearningSetup(base=base, train_videos=train_videos, through_codec=codec, with_reasons=reasons, seed=seed,
                          train=recipe)
    started = time.time()
    with tempfile.TemporaryDirectory() as work:
        report = run_learning_experiment(setup, work)
    print(json.dumps({"base": base, "train_videos": train_videos, "codec": codec, "reasons": reasons, "seed": seed,
                      "recipe": recipe, "summary": summary(report), "steps": report["steps"],
                      "best_step": report["best_step"], "train_s": round(report["train_s"]),
                      "wall_s": round(time.time() - started), "load": round(os.getloadavg()[0], 2)}), flush=True)


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("pretrain", "probe", "finetune"))
    parser.add_argument("path", help="pretrain: the output folder; probe, finetune: the base")
    parser.add_argument("--videos", type=int, default=40000)
    parser.add_argument("--steps", type=int, default=8000)
    parser.add_argument("--phases", type=int, default=2)
    parser.add_argument("--train-videos", type=int, default=600)
    parser.add_argument("--codec", action="store_true", help="frames through the platform's H.264 storage")
    parser.add_argument("--no-reasons", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--recipe", type=json.loads, default={}, help="changes to the base's recipe (config fields)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.what == "pretrain":
        pretrain(Path(args.path), args.videos, args.steps, args.phases)
    elif args.what == "probe":
        probe(args.path, args.train_videos)
    else:
        finetune(args.path, args.train_videos, args.codec, not args.no_reasons, args.seed, args.recipe)


if __name__ == "__main__":
    main()
