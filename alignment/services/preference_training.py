"""The `train_preference_critic` job: a pairwise snapshot's compared pairs → a Bradley–Terry critic (a
vision-language backbone with a scalar head per dimension, VideoReward's shape), measured on the snapshot's
test pairs beside the active rating critic judged on the same pairs through its expected rewards, and
registered as a critic version whose scores feed the same score job, active learning and alignment.

Each pair's label per dimension is its consensus (the majority of A / tie / B; a split vote is a tie);
dimensions without a vote are left out of the loss. Accuracy "with ties" predicts a tie below a score gap
chosen on the test pairs themselves, as VideoGen-RewardBench reports it.
"""
from pathlib import Path

from django.conf import settings

from annotation.models import CampaignItem, Snapshot
from lift.api_errors import ApplicationError

from ..engine.critic.config import FINETUNE_MODES
from ..models import Job, ModelVersion, VideoScore
from ..selectors import active_version, is_preference_critic
from .align_data import snapshot_pair_consensus, snapshot_ready
from .critic_training import default_backbone

DEFAULTS = {"finetune": "lora", "steps": 200, "lr": 1e-4, "batch_size": 8, "lora_rank": 16, "seed": 0,
            "tie_model": "rao_kupper", "eval_every": 25, "readout": "questions"}
TYPES = {"finetune": str, "steps": int, "lr": float, "batch_size": int, "lora_rank": int, "seed": int,
         "tie_model": str, "eval_every": int, "readout": str, "backbone": str, "name": str, "snapshot": int}


def train_preference_critic_params_help() -> dict[str, str]:
    return {
        "snapshot": "A ready snapshot with compared pairs: trained on its train split, measured on its test split; "
                    "the weights kept are those of the best accuracy on its validation split when that has pairs.",
        "backbone": "Hub id or path of the vision-language model (default: the tiny critic pretrained on the "
                    "synthetic world).",
        "finetune": '"lora" (on the language model, vision frozen; VideoReward\'s default), "full", or "language" '
                    '(every weight of the language model, the vision tower frozen).',
        "steps": "Optimiser steps.", "lr": "AdamW learning rate.", "batch_size": "Pairs per step.",
        "lora_rank": "LoRA rank.", "seed": "Seed of the batches and the head's initialisation.",
        "tie_model": "How ties enter the Bradley–Terry loss: rao_kupper (VideoReward's) or davidson.",
        "eval_every": "Measure on the validation pairs every this many steps and at the end (0: only at the end).",
        "readout": '"questions" (each dimension read after its own rating question, where a rating critic reads '
                   'its rating; a forward pass per dimension) or "caption" (every score read from the last token '
                   'after the caption alone, VideoReward\'s shape; one pass, and on the world pairs 0.76-0.99 on '
                   'semantic where the questions gave 0.99).',
        "name": "The critic version's name (default: 'preference critic job <id>').",
    }


_KIND_WORDS = {int: "a whole number", float: "a number", str: "text"}


def _checked(name: str, value, kind):
    accepted = (int, float) if kind is float else kind
    if isinstance(value, bool) or not isinstance(value, accepted):
        raise ApplicationError(f"{name} must be {_KIND_WORDS[kind]}.", fields={name: "invalid"})
    return kind(value)


def train_preference_critic_params_validate(*, params: dict) -> dict:
    from ..engine.critic.pairwise import READOUTS
    from ..engine.critic.preference import TIE_MODELS

    params = dict(params or {})
    if unknown := sorted(set(params) - set(TYPES)):
        raise ApplicationError(f"Unknown train_preference_critic params: {', '.join(unknown)}.", fields={"params": unknown})
    clean = {**DEFAULTS, "backbone": default_backbone()}
    clean.update({name: _checked(name, value, TYPES[name]) for name, value in params.items() if value is not None})
    if clean["finetune"] not in FINETUNE_MODES:
        raise ApplicationError(f"finetune must be one of {', '.join(FINETUNE_MODES)}.", fields={"finetune": "invalid"})
    if clean["readout"] not in READOUTS:
        raise ApplicationError(f"readout must be one of {', '.join(READOUTS)}.", fields={"readout": "invalid"})
    if clean["tie_model"] not in TIE_MODELS:
        raise ApplicationError(f"tie_model must be one of {', '.join(TIE_MODELS)}.", fields={"tie_model": "invalid"})
    for name in ("steps", "batch_size", "lora_rank"):
        if not 1 <= clean[name] <= 1_000_000:
            raise ApplicationError(f"{name} must be at least 1.", fields={name: "invalid"})
    if not 0 <= clean["eval_every"] <= 1_000_000:
        raise ApplicationError("eval_every must not be negative.", fields={"eval_every": "invalid"})
    if not 0 < clean["lr"] < 1:
        raise ApplicationError("lr must lie in (0, 1).", fields={"lr": "invalid"})
    if clean["backbone"] != default_backbone() and clean["backbone"].startswith(("/", ".")) \
            and not Path(clean["backbone"]).is_dir():
        raise ApplicationError(f"backbone {clean['backbone']} is not a directory.", fields={"backbone": "not found"})
    snapshot = snapshot_ready(snapshot_id=params.get("snapshot"))
    for split in ("train", "test"):
        if not any(any(c for c in consensus.values()) for consensus in
                   snapshot_pair_consensus(snapshot=snapshot, split=split).values()):
            raise ApplicationError(f"Snapshot {snapshot.number} has no compared pair in its {split} split.",
                                   code="no_scored_data", fields={"snapshot": f"no {split} pairs"})
    if "name" in clean and ModelVersion.objects.filter(kind=ModelVersion.Kind.CRITIC, name=clean["name"]).exists():
        raise ApplicationError(f"A critic named {clean['name']!r} exists.", fields={"name": "taken"})
    clean["snapshot"] = snapshot.pk
    return clean


def _pairs(*, snapshot: Snapshot, split: str, frames_of) -> tuple[list, list]:
    """(PairExamples, their item ids) of the split's pairs with at least one judged dimension."""
    from ..engine.critic.pairwise import PairExample
    from .scoring import video_caption

    consensus = {item: {d: c for d, c in votes.items() if c}
                 for item, votes in snapshot_pair_consensus(snapshot=snapshot, split=split).items()}
    items = CampaignItem.objects.select_related("video__prompt", "video_b").in_bulk([i for i, c in consensus.items() if c])
    ids = sorted(items)
    return [PairExample(video_caption(items[i].video), frames_of(items[i].video), frames_of(items[i].video_b),
                        consensus[i]) for i in ids], ids


def _accuracies(score_a, score_b, pairs, dims) -> dict:
    """Per dimension, on the pairs judged on it: accuracy without ties (VideoGen-RewardBench's w/o ties) and
    with ties (the tie threshold that fits these pairs best)."""
    from ..engine.critic.pairwise import judged_by_dimension
    from ..engine.critic.preference import accuracy_with_ties, accuracy_without_ties

    figures = {}
    for dim, (a, b, labels) in judged_by_dimension(score_a, score_b, pairs, dims).items():
        with_ties, threshold = accuracy_with_ties(a, b, labels)
        figures[dim] = {"pairs": len(labels), "accuracy_without_ties": _finite(accuracy_without_ties(a, b, labels)),
                        "accuracy_with_ties": _finite(with_ties), "tie_threshold": threshold}
    decided = [f["accuracy_without_ties"] for f in figures.values() if f["accuracy_without_ties"] is not None]
    return {"dimensions": figures, "mean_accuracy_without_ties": sum(decided) / len(decided) if decided else None}


def _finite(value: float) -> float | None:
    return None if value != value else value  # NaN (no decided pair) as null in JSON


def _rating_critic_on(pairs, item_ids, dims, *, job, report) -> dict:
    """The active rating critic on the same test pairs, through its expected reward per dimension."""
    from .scoring import scores_compute

    active = active_version(kind=ModelVersion.Kind.CRITIC)
    if active is None or is_preference_critic(active):
        return {}
    items = CampaignItem.objects.in_bulk(item_ids)
    videos = sorted({v for i in item_ids for v in (items[i].video_id, items[i].video_b_id)})
    report(phase=f"the active critic {active.name} on the same pairs", force=True)
    scores_compute(critic=active, video_ids=videos, job=job)
    reward = {(row.video_id, row.dimension): row.reward
              for row in VideoScore.objects.filter(critic=active, video_id__in=videos, dimension__in=dims)}
    score_a = [[reward.get((items[i].video_id, d), 0.0) for d in dims] for i in item_ids]
    score_b = [[reward.get((items[i].video_b_id, d), 0.0) for d in dims] for i in item_ids]
    return {"critic": active.pk, "name": active.name, **_accuracies(score_a, score_b, pairs, dims)}


def train_preference_critic_run(*, job: Job, report) -> dict:
    from ..engine.critic.data import sample_frames_timed
    from ..engine.critic.pairwise import preference_critic, save_preference_critic, score_pairs, train_pairwise
    from ..engine.critic.spec import CriticMeta
    from .critic_training import ensure_backbone
    from .registry import version_register
    from .scoring import local_video_files

    params = job.params
    snapshot = snapshot_ready(snapshot_id=params["snapshot"])
    dims = list(snapshot.manifest.get("pair_dimensions", []))
    ensure_backbone(params["backbone"])
    report(fraction=0.0, phase="loading the backbone", force=True)
    critic = preference_critic(params["backbone"], dims, finetune=params["finetune"], lora_rank=params["lora_rank"],
                               seed=params["seed"], readout=params.get("readout", "caption"))
    meta = CriticMeta.load(params["backbone"])
    size = meta.frame_sizer(critic.geometry)
    videos = {}

    def frames_of(video):
        if video.pk not in videos:
            with local_video_files([video]) as paths:
                videos[video.pk] = sample_frames_timed(paths[video.pk], meta.num_frames, size, timed=False)[0]
        return videos[video.pk]

    report(fraction=0.02, phase="reading the compared pairs", force=True)
    train, _ = _pairs(snapshot=snapshot, split="train", frames_of=frames_of)
    test, test_ids = _pairs(snapshot=snapshot, split="test", frames_of=frames_of)
    validation, _ = _pairs(snapshot=snapshot, split="validation", frames_of=frames_of)
    report(log=f"{len(train)} train pairs, {len(validation)} validation pairs, {len(test)} test pairs; "
               f"{params['finetune']} on {params['backbone']}", force=True)
    training = train_pairwise(critic, train, steps=params["steps"], batch_size=params["batch_size"],
                              learning_rate=params["lr"], tie_model=params["tie_model"], seed=params["seed"],
                              validation=validation, eval_every=params.get("eval_every", 0),
                              on_step=lambda step, loss: report(fraction=0.05 + 0.8 * step / params["steps"],
                                                                phase=f"train step {step}"))
    losses = training.losses
    if training.val_curve:
        curve = ", ".join(f"step {v['step']}: {v['accuracy']:.3f}" for v in training.val_curve)
        report(log=f"validation accuracy without ties: {curve}; kept step {training.best_step}", force=True)
    report(fraction=0.86, phase="evaluate on the test pairs", force=True)
    score_a, score_b = score_pairs(critic, test)
    evaluation = {"test_pairs": len(test), **_accuracies(score_a, score_b, test, dims),
                  "rating_critic_on_these_pairs": _rating_critic_on(test, test_ids, dims, job=job, report=report),
                  "test_split": {"snapshot": snapshot.pk, "number": snapshot.number, "pairs": test_ids}}
    out = Path(settings.LIFT["JOBS_DIR"]) / f"train_preference_critic-{job.pk}" / "critic"
    save_preference_critic(critic, out, params["backbone"])
    version = version_register(
        kind=ModelVersion.Kind.CRITIC, name=params.get("name") or f"preference critic job {job.pk}",
        base=params["backbone"], config={"critic_dir": str(out), "critic_kind": "preference", "dimensions": dims},
        lineage={"backbone": params["backbone"], "snapshot": snapshot.pk, "job": job.pk, "train_pairs": len(train),
                 "hyperparameters": {k: params.get(k) for k in DEFAULTS}},
        metrics={**evaluation, "loss_curve": [[i + 1, round(v, 6)] for i, v in enumerate(losses)],
                 "validation_pairs": len(validation), "validation_curve": training.val_curve,
                 "best_step": training.best_step}, created_by_job=job)
    report(metrics={"loss_curve": [[i + 1, round(v, 6)] for i, v in enumerate(losses)],
                    "mean_accuracy_without_ties": evaluation["mean_accuracy_without_ties"]}, force=True)
    return {"critic_version": version.pk, "name": version.name, "train_pairs": len(train), "test_pairs": len(test),
            "mean_accuracy_without_ties": evaluation["mean_accuracy_without_ties"],
            "rating_critic_mean_accuracy_without_ties":
                evaluation["rating_critic_on_these_pairs"].get("mean_accuracy_without_ties")}
