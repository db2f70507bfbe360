"""Building the pretrained tiny models from scratch, with a model card each (see the package's docstring)."""

from __future__ import annotations

import json
import platform
import shutil
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable

from . import BUILD_COMMAND, CRITIC, GENERATOR, weights_digest
from ..critic.spec import CriticMeta
from .critic import PretrainConfig, build_metrics, pretrain_critic
from .generator import GeneratorPretrainConfig, pretrain_generator

ProgressFn = Callable[[float, str, dict], None]

CRITIC_WHAT = ("A tiny Qwen2-VL (Qwen2VLForConditionalGeneration) taught to answer questions about world videos "
               "(never a rating): the starting point of the tiny world's critics.")
GENERATOR_WHAT = ("A tiny CogVideoX (CogVideoXPipeline) taught to make world videos, defects and all: the starting "
                  "point of the tiny world's alignment.")


def _card(name: str, what: str, config: dict, metrics: dict, directory: Path, note: str = "") -> None:
    lines = [
        f"# {name}", "", what, "",
        "Built from scratch on the synthetic world (alignment/engine/synthetic) by", "",
        f"    {BUILD_COMMAND}", "",
        *([note, ""] if note else []),
        f"Python {sys.version.split()[0]} on {platform.machine()}, {time.strftime('%Y-%m-%d')}.",
        f"Weights sha256 (all safetensors): `{weights_digest(directory)}`", "",
        "## Settings", "", "```json", json.dumps(config, indent=1), "```", "",
        "## Measured at build time", "", "```json", json.dumps(metrics, indent=1), "```", "",
    ]
    (directory / "README.md").write_text("\n".join(lines))


def build_critic(out_dir: str | Path, config: PretrainConfig | None = None, on_progress: ProgressFn | None = None) -> dict:
    """Pretrain the tiny critic from random weights into out_dir/tiny-critic, with its model card; its figures."""
    from ..critic.tiny import build_tiny_critic

    config = config or PretrainConfig()
    out_dir = Path(out_dir)
    base = build_tiny_critic(out_dir / ".tiny-critic-random", seed=config.seed, vision_width=config.vision_width,
                             vision_layers=config.vision_layers)
    metrics = pretrain_critic(base, out_dir / CRITIC, config, on_progress=on_progress)
    shutil.rmtree(base, ignore_errors=True)
    _card(CRITIC, CRITIC_WHAT, asdict(config), metrics, out_dir / CRITIC)
    return metrics


def extend_critic(base_dir: str | Path, out_dir: str | Path, more_phases: int = 1,
                  final_stored_share: float | None = None, on_progress: ProgressFn | None = None) -> dict:
    """Pretrain a built critic (`build_critic`'s output, with its pretrain.json) for `more_phases` more rounds into
    out_dir/tiny-critic, carded as the from-scratch build with that many more phases: round p renders and trains
    on seed + p whether it runs in one build or in two, so the weights are the same (one thread) and the hour of
    the earlier rounds is not spent again. Only the earlier rounds' held-out figures differ: a build measures
    every round on the renders of seed + its number of rounds, so those in the card are the base build's own."""
    base_dir = Path(base_dir)
    config = _built_config(json.loads((base_dir / "pretrain.json").read_text()))
    more = replace(config, seed=config.seed + config.phases, phases=more_phases, final_stored_share=final_stored_share)
    pretrain_critic(base_dir, Path(out_dir) / CRITIC, more, on_progress=on_progress)
    return card_extension(base_dir, Path(out_dir) / CRITIC)


def _built_config(built: dict) -> PretrainConfig:
    """A build's settings; builds from before final_stored_share used one share throughout."""
    return PretrainConfig(**{"final_stored_share": None, **built["config"]})


def card_extension(base_dir: Path, out: Path) -> dict:
    """Rewrite the pretrain.json and card of `out`, pretrained from the build in `base_dir` for more phases (the
    seeds following on), as those of the build with all the phases; its figures."""
    built, extension = (json.loads((d / "pretrain.json").read_text()) for d in (base_dir, out))
    config, more = _built_config(built), _built_config(extension)
    if config.final_stored_share is not None:
        raise ValueError("the build's last phase had a share of its own: a build after it would not repeat it")
    own = ("seed", "phases", "final_stored_share")
    if more.seed != config.seed + config.phases or any(
            value != built["config"].get(key) for key, value in extension["config"].items() if key not in own):
        raise ValueError("the extension's settings are not the build's with the seeds following on")
    metrics = build_metrics(built["metrics"]["phases"] + extension["metrics"]["phases"])
    whole = asdict(replace(config, phases=config.phases + more.phases, final_stored_share=more.final_stored_share))
    meta = CriticMeta.load(out)
    meta.metrics = metrics
    meta.save(out)
    (out / "pretrain.json").write_text(json.dumps({"config": whole, "metrics": metrics,
                                                   "loss_curves": built["loss_curves"] + extension["loss_curves"]}, indent=1))
    _card(CRITIC, CRITIC_WHAT, whole, metrics, out, note=(
        f"(Built as {config.phases} phases, then {more.phases} more by `extend_critic`: the same weights. The first "
        f"{config.phases} phases' held-out figures were measured on seed {config.seed + config.phases}'s renders, the "
        f"rest on seed {more.seed + more.phases}'s.)"))
    return metrics


def build_pretrained(out_dir: str | Path, *, critic: PretrainConfig | None = None,
                     generator: GeneratorPretrainConfig | None = None, on_progress: ProgressFn | None = None) -> dict:
    """Pretrain both tiny models from scratch into out_dir/{tiny-critic,tiny-cogvideox}; returns their figures."""
    generator = generator or GeneratorPretrainConfig()
    report = on_progress or (lambda fraction, phase, metrics: None)
    out_dir = Path(out_dir)
    critic_metrics = build_critic(out_dir, critic, on_progress=lambda f, p, m: report(f, f"critic {p}", m))
    generator_metrics = pretrain_generator(out_dir / GENERATOR, generator,
                                           on_progress=lambda f, p, m: report(f, f"generator {p}", m))
    _card(GENERATOR, GENERATOR_WHAT, asdict(generator), generator_metrics, out_dir / GENERATOR)
    return {CRITIC: critic_metrics, GENERATOR: generator_metrics}
