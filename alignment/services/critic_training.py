"""Critic training as a job: a snapshot's splits → a trained critic, measured on the test split and
registered as a critic version with its lineage.

The job's work folder is fixed by the job id (<JOBS_DIR>/train_critic-<id>/), so a re-run after a killed
worker finds the engine's checkpoints there and resumes exactly where the last one was written.
"""
import json
import time
from pathlib import Path

from django.conf import settings

from lift.api_errors import ApplicationError

from ..engine.critic.config import JOB_FIELD_NAMES
from ..models import Job, ModelVersion
from .critic_data import (checked_snapshot, held_out_split_identity, load_split_examples, snapshot_for_critic,
                          write_critic_view)
from .jobs import job_artifacts_set

_KINDS = {"finetune": str, "with_reasons": bool, "without_reasons": bool, "steps": int, "lr": float, "frames": int,
          "batch_size": int, "seed": int, "eval_every": int, "patience": int, "checkpoint_every": int,
          "lora_rank": int, "balance": str, "device": str, "rating_weight": float, "warmup_ratio": float,
          "ema_decay": float}
# Job params → (CriticTrainConfig field, type); without_reasons only flips with_reasons.
HYPERPARAMETERS = {name: (None if name == "without_reasons" else JOB_FIELD_NAMES.get(name, name), kind)
                   for name, kind in _KINDS.items()}
DEFAULTS = {"finetune": "lora", "with_reasons": True, "steps": 200, "lr": 3e-4, "batch_size": 8, "seed": 0,
            "eval_every": 50, "checkpoint_every": 25}
CURVE_REPORT_SECONDS = 2.0


def default_backbone() -> str:
    """The tiny critic pretrained on the synthetic world (installed from the repository on first use)."""
    return str(settings.LIFT["MODELS_DIR"] / "tiny-critic")


def backbone_recipe(backbone: str) -> dict:
    """The hyperparameters a base was made to be fine-tuned with (its critic meta's recipe), if any."""
    from ..engine.critic.spec import CriticMeta

    if backbone == default_backbone():
        ensure_backbone(backbone)
    return CriticMeta.load(backbone).recipe if Path(backbone).is_dir() else {}


def job_dir(job: Job) -> Path:
    return settings.LIFT["JOBS_DIR"] / f"train_critic-{job.pk}"


def train_critic_params_help() -> dict[str, str]:
    """The engine config's help for each hyperparameter the API takes, and the job's own parameters."""
    from ..engine.critic.config import CriticTrainConfig

    config_help = CriticTrainConfig.help()
    return {
        "snapshot": "A ready snapshot: the critic learns on its train split, is chosen on validation, measured on test.",
        "backbone": "Hub id or path of the model to fine-tune (default: the tiny critic pretrained on the synthetic "
                    "world, installed on first use; its recipe sets the other defaults).",
        "name": "The critic version's name (default: 'critic job <id>').",
        "without_reasons": "Train on the rating word alone (the same as with_reasons false).",
        **{name: config_help[field] for name, (field, _) in HYPERPARAMETERS.items() if field},
    }


def _typed(name: str, value, kind):
    if kind is bool:
        if not isinstance(value, bool):
            raise ApplicationError(f"{name} must be true or false.", fields={name: "invalid"})
        return value
    if kind in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ApplicationError(f"{name} must be a number.", fields={name: "invalid"})
    if kind is int and value != int(value):
        raise ApplicationError(f"{name} must be a whole number.", fields={name: "invalid"})
    if kind is str and not isinstance(value, str):
        raise ApplicationError(f"{name} must be a string.", fields={name: "invalid"})
    return kind(value)


def train_config(params: dict):
    """The engine's CriticTrainConfig for the job params; the engine's own checks, as a 4xx."""
    from ..engine.critic.config import CriticTrainConfig

    values = {"base": params["backbone"], "eval_every": params["eval_every"], "checkpoint_every": params["checkpoint_every"]}
    for name, (field, _) in HYPERPARAMETERS.items():
        if field and name in params:
            values[field] = params[name]
    config = CriticTrainConfig(**values)
    try:
        config.validate()
    except ValueError as exc:
        raise ApplicationError(f"Bad hyperparameters: {exc}", code="bad_hyperparameters") from exc
    return config


def train_critic_params_validate(*, params: dict) -> dict:
    """Checked before anything is queued: hyperparameters, then the snapshot as training will read it."""
    unknown = set(params) - set(HYPERPARAMETERS) - {"snapshot", "backbone", "name"}
    if unknown:
        raise ApplicationError(f"Unknown train_critic params: {', '.join(sorted(unknown))}.", fields={"params": sorted(unknown)})
    backbone = params.get("backbone") or default_backbone()
    if not isinstance(backbone, str):
        raise ApplicationError("backbone must be a hub id or a path.", fields={"backbone": "invalid"})
    if backbone != default_backbone() and backbone.startswith(("/", ".")) and not Path(backbone).is_dir():
        raise ApplicationError(f"backbone {backbone} is not a directory.", fields={"backbone": "not found"})
    clean = {**DEFAULTS, **backbone_recipe(backbone)}
    for name, (_, kind) in HYPERPARAMETERS.items():
        if name in params:
            clean[name] = _typed(name, params[name], kind)
    if clean.pop("without_reasons", False):
        clean["with_reasons"] = False
    clean["backbone"] = backbone
    if params.get("name") is not None:
        clean["name"] = str(params["name"])[:200]
        if ModelVersion.objects.filter(kind=ModelVersion.Kind.CRITIC, name=clean["name"]).exists():
            raise ApplicationError(f"A critic named {clean['name']!r} exists.", fields={"name": "taken"})
    train_config(clean)
    with checked_snapshot(params.get("snapshot")) as (snapshot, _):
        clean["snapshot"] = snapshot.pk
    return clean


def ensure_backbone(backbone: str) -> None:
    if backbone == default_backbone():
        from ..engine.pretrain import install_shipped

        # The default: the pretrained tiny critic, installed on first use and replaced when the shipped files
        # (weights or recipe) have changed since; an install that matches is left as it is.
        install_shipped(Path(backbone).parent)


class _TrainProgress:
    """Engine progress → the job row: fraction of the training phase, and the loss / validation curves
    (whole curves, replaced, so a resumed run never repeats points), written at most every few seconds."""

    def __init__(self, report, start: float, end: float):
        self.report, self.start, self.end, self._last = report, start, end, 0.0

    def __call__(self, fraction: float, phase: str, metrics: dict) -> None:
        fraction = self.start + (self.end - self.start) * fraction
        if "loss_curve" in metrics and phase == "train":
            now = time.monotonic()
            if now - self._last < CURVE_REPORT_SECONDS and fraction < self.end:
                self.report(fraction=fraction, phase=f"train step {metrics.get('step')}")
                return
            self._last = now
            self.report(fraction=fraction, phase=f"train step {metrics['step']}",
                        metrics={"loss_curve": metrics["loss_curve"], "step": metrics["step"], "loss": metrics["loss"]})
        elif "val" in metrics:
            val = metrics["val"]
            per_dimension = ", ".join(f"{d} {a:.3f}" for d, a in val["accuracy_per_dimension"].items())
            self.report(fraction=fraction, phase="validate",
                        log=f"step {val['step']}: val accuracy {val['accuracy']:.3f} ({per_dimension}), "
                            f"rating NLL {val['rating_nll']:.3f}",
                        metrics={"val_accuracy": val["accuracy"],
                                 "curves": {"val": [{k: val[k] for k in ("step", "loss", "accuracy", "rating_nll")}]}})
        else:
            self.report(fraction=fraction, phase=phase)


def _active_on_split(view: Path, train_examples: list, consensus: dict, report) -> dict:
    """The active critic measured on this test split too, so promotion compares like with like."""
    from .critic_evaluation import critic_evaluate
    from ..selectors import active_version
    from .scoring import critic_directory

    active = active_version(kind=ModelVersion.Kind.CRITIC)
    if active is None:
        return {}
    report(phase=f"evaluate the active critic {active.name} on the same split", force=True)
    try:
        figures = critic_evaluate(critic_dir=Path(critic_directory(active)), view_dir=view,
                                  train_examples=train_examples, consensus=consensus)
    except (OSError, ValueError) as exc:  # its weights are gone or unreadable: promotion will need force
        report(log=f"could not evaluate the active critic {active.name}: {exc}", force=True)
        return {}
    return {str(active.pk): {"name": active.name, "mean_accuracy": figures["mean_accuracy"],
                             "accuracy": figures["accuracy"]}}


def train_critic_run(*, job: Job, report) -> dict:
    from ..engine.critic.train import train_critic
    from ..engine.training.artifacts import artifact, checkpoint_artifacts
    from .critic_evaluation import critic_evaluate, snapshot_consensus
    from .distributed import train_critic_in_child, train_processes
    from .registry import version_register

    params = job.params
    snapshot = snapshot_for_critic(params["snapshot"])
    work = job_dir(job)
    report(fraction=0.0, phase="reading the snapshot", force=True)
    view = write_critic_view(snapshot, work / "snapshot")
    examples = load_split_examples(view)
    ensure_backbone(params["backbone"])
    config = train_config(params)
    report(log=f"train {len(examples['train'])}, validation {len(examples['validation'])}, "
               f"test {len(examples['test'])} examples; {config.finetune} on {config.base}", force=True)
    progress = _TrainProgress(report, 0.02, 0.85)
    processes = train_processes()
    try:
        if processes > 1:  # a torchrun child process group, one rank per GPU
            result = train_critic_in_child(job=job, config=config, train_examples=examples["train"],
                                           val_examples=examples["validation"], out_dir=work / "train",
                                           on_progress=progress, processes=processes)
        else:
            result = train_critic(config, examples["train"], examples["validation"], work / "train", on_progress=progress)
    except (ValueError, FileNotFoundError) as exc:  # CriticDataError is a ValueError
        raise ApplicationError(f"Training refused: {exc}", code="train_refused") from exc
    critic_dir = Path(result.critic_dir)
    artifacts = [artifact("critic", critic_dir, "model"),
                 artifact("train_config", work / "train" / "train_config.json", "config"),
                 *checkpoint_artifacts(work / "train")]
    job_artifacts_set(job=job, artifacts=artifacts)
    report(fraction=0.87, phase="evaluate on the test split", force=True)
    consensus = snapshot_consensus(Path(snapshot.folder_path))
    evaluation = critic_evaluate(critic_dir=critic_dir, view_dir=view, train_examples=examples["train"],
                                 consensus=consensus, report=report)
    evaluation["test_split"] = held_out_split_identity(snapshot)
    evaluation["validation"] = result.best_metrics
    evaluation["active_on_this_split"] = _active_on_split(view, examples["train"], consensus, report)
    (work / "evaluation.json").write_text(json.dumps(evaluation, indent=1, sort_keys=True))
    job_artifacts_set(job=job, artifacts=[*artifacts, artifact("evaluation", work / "evaluation.json", "metrics")])
    hyperparameters = config.to_dict()
    version = version_register(
        kind=ModelVersion.Kind.CRITIC, name=params.get("name") or f"critic job {job.pk}", base=params["backbone"],
        config={"critic_dir": str(critic_dir), "num_frames": hyperparameters["num_frames"],
                "with_reasons": config.with_reasons},
        lineage={"backbone": params["backbone"], "snapshot": snapshot.pk, "snapshot_number": snapshot.number,
                 "hyperparameters": hyperparameters, "job": job.pk, "steps": result.steps,
                 "best_step": result.best_step, "resumed_from": result.resumed_from},
        metrics=evaluation, created_by_job=job,
    )
    report(metrics={"mean_accuracy": evaluation["mean_accuracy"], "test": evaluation}, force=True)
    return {"critic_version": version.pk, "name": version.name, "mean_accuracy": evaluation["mean_accuracy"],
            "accuracy": evaluation["accuracy"], "majority_baseline": evaluation["majority_baseline"],
            "steps": result.steps, "resumed_from": result.resumed_from}
