"""Can the tiny critic's vision tower learn motion and fidelity severity, and through which readout?
(issue "prove the loop", bench/RESULTS.md "3c")

    .venv/bin/python bench/vision_readout_probe.py READOUT ACTIVATION STEPS [LR] [MLP_RATIO] [RENDERS]

The tiny Qwen2-VL vision tower (the shipped critic's geometry, random weights) with linear heads trained
straight on the oracle's motion and fidelity ratings of RENDERS (3,000) raw world renders (batch 32, AdamW), held-out
accuracy on 400 others every 200 steps. READOUT is what the heads read:
  mean       the mean merged video token (what the pretraining's clip probes and, roughly, attention read)
  pertoken   every token on its own (each predicts the clip's ratings; evaluated on the mean of their logits)
  meanstd    the tokens' mean and their standard deviation over the clip
  both       meanstd and, beside it, a head on the mean alone (both train the tower)
ACTIVATION is the tower MLPs' (quick_gelu as shipped, relu2 squares). A detached probe on the mean token
(its own optimiser; no gradient into the tower) shows whether the mean carries severity whatever trains it.
One torch thread; the renders are cached in /tmp/lift-vision-probe-RENDERS.npz. One JSON line per evaluation.
"""
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from alignment.engine.critic.questions import RATINGS  # noqa: E402
from alignment.engine.critic.spec import VisionGeometry, patchify  # noqa: E402
from alignment.engine.pretrain import WEIGHTS_DIR  # noqa: E402
from alignment.engine.synthetic import CLIP_FRAMES, CLIP_SIZE, oracle_judge, render, sample_defects, sample_prompt  # noqa: E402


def _renders(geometry, count: int, seed: int):
    rng = np.random.default_rng(seed)
    patches, labels = [], []
    for index in range(count):
        spec, defects = sample_prompt(rng), sample_defects(rng)
        frames = render(spec, defects, frames=CLIP_FRAMES, size=CLIP_SIZE, seed=seed * 100_000 + index)
        patches.append(patchify(frames, geometry)[0].numpy().astype(np.float16))
        truth = oracle_judge(spec, defects)
        labels.append([RATINGS.index(truth[d].rating) for d in ("motion", "fidelity")])
    return np.stack(patches), np.array(labels)


def main() -> None:
    from transformers import AutoConfig
    from transformers.models.qwen2_vl.modeling_qwen2_vl import Qwen2VisionTransformerPretrainedModel

    readout, activation, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    lr = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-3
    mlp_ratio = int(sys.argv[5]) if len(sys.argv) > 5 else 2  # the config field is an int
    renders = int(sys.argv[6]) if len(sys.argv) > 6 else 3000
    cache = Path(f"/tmp/lift-vision-probe-{renders}.npz")
    torch.set_num_threads(1)
    config = AutoConfig.from_pretrained(WEIGHTS_DIR / "tiny-critic")
    geometry = VisionGeometry.from_config(config)
    if not cache.exists():
        (x_train, y_train), (x_test, y_test) = _renders(geometry, renders, 1), _renders(geometry, 400, 2)
        np.savez(cache, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    data = np.load(cache)
    x_train, x_test = (torch.from_numpy(data[k]).float() for k in ("x_train", "x_test"))
    y_train, y_test = (torch.from_numpy(data[k]) for k in ("y_train", "y_test"))
    _, grid = patchify(np.zeros((CLIP_FRAMES, *CLIP_SIZE, 3), np.uint8), geometry)
    vision = config.vision_config
    vision.hidden_act, vision.mlp_ratio = activation, mlp_ratio
    torch.manual_seed(0)
    tower = Qwen2VisionTransformerPretrainedModel._from_config(vision)
    width = vision.hidden_size
    heads = torch.nn.Linear(width * (2 if readout in ("meanstd", "both") else 1), 6)
    mean_head, probe = torch.nn.Linear(width, 6), torch.nn.Linear(width, 6)
    optimiser = torch.optim.AdamW([*tower.parameters(), *heads.parameters(), *mean_head.parameters()], lr=lr,
                                  weight_decay=0.01)
    probe_optimiser = torch.optim.AdamW(probe.parameters(), lr=3e-3)
    patches = x_train.shape[1]

    def tokens(x):
        out = tower(x.reshape(x.shape[0] * patches, -1), grid_thw=torch.tensor([grid] * x.shape[0])).pooler_output
        return out.reshape(x.shape[0], -1, out.shape[-1])

    def spread(t):
        return torch.cat([t.mean(1), t.std(1)], -1)

    def loss_of(logits, y):
        return sum(torch.nn.functional.cross_entropy(logits[..., 3 * k:3 * k + 3].reshape(-1, 3), y[..., k].reshape(-1))
                   for k in range(2))

    def accuracy(logits, y):
        return [round(float((logits[:, 3 * k:3 * k + 3].argmax(-1) == y[:, k]).float().mean()), 4) for k in range(2)]

    majority = [round(float(np.bincount(y_test[:, k].numpy(), minlength=3).max() / len(y_test)), 4) for k in range(2)]
    print(json.dumps({"readout": readout, "activation": activation, "lr": lr, "mlp_ratio": mlp_ratio, "renders": renders,
                      "majority_motion_fidelity": majority}), flush=True)
    rng, started = np.random.default_rng(0), time.time()
    for step in range(1, steps + 1):
        picked = torch.from_numpy(rng.choice(len(x_train), 32, replace=False))
        t, y = tokens(x_train[picked]), y_train[picked]
        if readout == "mean":
            loss = loss_of(heads(t.mean(1)), y)
        elif readout == "pertoken":
            loss = loss_of(heads(t), y[:, None, :].expand(-1, t.shape[1], -1))
        else:
            loss = loss_of(heads(spread(t)), y) + (loss_of(mean_head(t.mean(1)), y) if readout == "both" else 0)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        probe_loss = loss_of(probe(t.detach().mean(1)), y)
        probe_optimiser.zero_grad()
        probe_loss.backward()
        probe_optimiser.step()
        if step % 200 == 0 or step == steps:
            with torch.no_grad():
                held = torch.cat([tokens(x_test[i:i + 100]) for i in range(0, len(x_test), 100)])
                own = {"mean": lambda: heads(held.mean(1)), "pertoken": lambda: heads(held).mean(1)}.get(
                    readout, lambda: heads(spread(held)))()
                print(json.dumps({"step": step, "loss": round(loss.item(), 3), "heads": accuracy(own, y_test),
                                  "mean_head": accuracy(mean_head(held.mean(1)), y_test) if readout == "both" else None,
                                  "mean_probe": accuracy(probe(held.mean(1)), y_test), "s": round(time.time() - started),
                                  "load": round(os.getloadavg()[0], 2)}), flush=True)


if __name__ == "__main__":
    main()
