"""Critic bases and the rating fine-tune on them (issue "prove the loop", bench/RESULTS.md "3d"). One JSON line each.

    .venv/bin/python bench/critic_base_experiment.py pretrain OUT [--config '{"stored_share": 0}'] [--from BASE]
    .venv/bin/python bench/critic_base_experiment.py probe BASE [--train-videos 600]
    .venv/bin/python bench/critic_base_experiment.py finetune BASE [--train-videos 600] [--codec] [--reasons | --no-reasons]
                                                             [--seed 0] [--recipe '{"finetune": "language"}']

pretrain: the shipped critic's build (`build_critic`: a random tiny critic pretrained on world renders, in
phases of fresh renders) into OUT/tiny-critic, with PretrainConfig's fields changed by --config. With --from, more
phases on BASE instead (`pretrain_critic`): `--from B --config '{"seed": 2, "phases": 1}'` on a two-phase base
renders and trains what a from-scratch `"phases": 3` build's third phase would.
probe: is the rating linearly readable from the base's last two hidden states where the answer starts? An
L2-regularised logistic regression per dimension on the train videos' noisy ratings, accuracy on 240 held-out
videos against the oracle (the experiment harness's videos and annotators).
finetune: `run_learning_experiment` (600 videos rated by one simulated annotator with 10% noise, 60 validation,
240 held out) with the base's recipe changed by --recipe.
curve: the same fine-tune with a validation split rated by the simulated annotators, as the platform's snapshots
have it (--val-videos, 72 as in the CI chain), and the held-out videos measured against the truth at every
evaluation: which step each rule for keeping the best weights would keep, and what it is worth against the truth.
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


def pretrain(out: Path, changes: dict, base: str | None) -> None:
    from alignment.engine.pretrain.build import CRITIC, build_critic
    from alignment.engine.pretrain.critic import PretrainConfig, pretrain_critic

    config = PretrainConfig(**changes)

    def progress(fraction, phase, metrics):
        if metrics.get("step", 0) % 1000 == 0:
            print(json.dumps({"fraction": round(fraction, 3), "what": phase, **metrics}), flush=True)
    if base:
        metrics = pretrain_critic(base, out / CRITIC, config, on_progress=progress)
    else:
        metrics = build_critic(out, config, on_progress=progress)
    print(json.dumps({"config": asdict(config), "metrics": metrics, "load": round(os.getloadavg()[0], 2)}), flush=True)


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


def finetune(base: str, train_videos: int, codec: bool, reasons: bool | None, seed: int, recipe: dict) -> None:
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


SELECTION_RULES = {  # how the trainer could choose the weights it keeps, from the validation figures alone
    "mean accuracy (the trainer's)": lambda v: (v["accuracy"], -v["rating_nll"]),  # `is_better` without min_delta
    "rating NLL": lambda v: -v["rating_nll"],
    "weakest dimension": lambda v: (min(v["accuracy_per_dimension"].values()), v["accuracy"]),
    "last step": lambda v: v["step"],
}


def curve(base: str, train_videos: int, val_videos: int, seed: int, recipe: dict) -> None:
    from alignment.engine.critic.experiment import LearningSetup, learning_config, learning_videos
    from alignment.engine.critic.synthetic_data import annotated_examples, truth_examples
    from alignment.engine.critic.train import CriticTrainer, evaluate_queries, queries_from

    setup = LearningSetup(base=base, train_videos=train_videos, val_videos=val_videos, seed=seed, train=recipe)
    (train, val, test), config = learning_videos(setup), learning_config(setup)
    points = []

    class Measured(CriticTrainer):
        def _evaluate(self):
            super()._evaluate()
            if not hasattr(self, "test_queries"):
                self.test_queries = queries_from(truth_examples(test), self.meta, "test", self.geometry)
            with self.evaluated_weights():  # the weights just validated (a moving average's with ema_decay)
                truth = evaluate_queries(self.module, self.tokenizer, self.geometry, self.test_queries, batch_size=96,
                                         device=self.device, with_reason=False)
            points.append({"val": self.state["val_curve"][-1], "truth": truth["accuracy_per_dimension"]})

    started = time.time()
    with tempfile.TemporaryDirectory() as work:
        Measured(config, annotated_examples(train, noise=0.1, seed=seed + 1),
                 annotated_examples(val, noise=0.1, seed=seed + 2), work).run()
    rules = {}
    for name, key in {**SELECTION_RULES, "best against the truth (hindsight)": None}.items():
        chosen = max(points, key=(lambda p: np.mean(list(p["truth"].values()))) if key is None
                     else (lambda p: key(p["val"])))
        rules[name] = {"step": chosen["val"]["step"], **{d: round(a, 3) for d, a in chosen["truth"].items()}}
    print(json.dumps({"base": base, "seed": seed, "val_videos": val_videos, "recipe": recipe, "rules": rules,
                      "curve": [{"step": p["val"]["step"], "val": round(p["val"]["accuracy"], 3),
                                 "val_nll": round(p["val"]["rating_nll"], 3),
                                 "truth": {d: round(a, 3) for d, a in p["truth"].items()}} for p in points],
                      "wall_s": round(time.time() - started), "load": round(os.getloadavg()[0], 2)}), flush=True)


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("pretrain", "probe", "finetune", "curve"))
    parser.add_argument("path", help="pretrain: the output folder; probe, finetune, curve: the base")
    parser.add_argument("--config", type=json.loads, default={}, help="pretrain: changes to PretrainConfig")
    parser.add_argument("--from", dest="start", help="pretrain: go on from this base instead of random weights")
    parser.add_argument("--train-videos", type=int, default=600)
    parser.add_argument("--codec", action="store_true", help="frames through the platform's H.264 storage")
    parser.add_argument("--reasons", action="store_true", help="train on rating and reason (default: the base's recipe)")
    parser.add_argument("--no-reasons", action="store_true", help="train on the rating word alone")
    parser.add_argument("--val-videos", type=int, default=72, help="curve: videos in the rated validation split")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--recipe", type=json.loads, default={}, help="changes to the base's recipe (config fields)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.what == "pretrain":
        pretrain(Path(args.path), args.config, args.start)
    elif args.what == "curve":
        curve(args.path, args.train_videos, args.val_videos, args.seed, args.recipe)
    elif args.what == "probe":
        probe(args.path, args.train_videos)
    else:
        reasons = False if args.no_reasons else True if args.reasons else None
        finetune(args.path, args.train_videos, args.codec, reasons, args.seed, args.recipe)


if __name__ == "__main__":
    main()
