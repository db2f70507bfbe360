"""Export of a critic version as a plain transformers (merged) or peft (adapter) directory with a model
card, loadable with from_pretrained outside the platform; zipped for the admin download."""
import json
import shutil
from pathlib import Path

from django.conf import settings

from annotation.models import Snapshot
from annotation.snapshots.writers import zip_folder
from lift.api_errors import ApplicationError, Conflict

from ..models import ModelVersion

LAYOUTS = ("merged", "adapter")


def _trained_dir(version: ModelVersion) -> Path:
    if version.kind != ModelVersion.Kind.CRITIC:
        raise ApplicationError(f"{version} is not a critic.", fields={"version": "not a critic"})
    critic_dir = (version.config or {}).get("critic_dir")
    if not critic_dir or not Path(critic_dir).is_dir():
        raise Conflict(f"Critic {version.name} was not trained here (its weights are {version.base}); "
                       "only trained critics are exported.", code="not_exportable")
    return Path(critic_dir)


def _data_description(version: ModelVersion) -> str:
    lineage = version.lineage or {}
    snapshot = Snapshot.objects.filter(pk=lineage.get("snapshot")).first()
    if snapshot is None:
        return "Not recorded."
    counts = ", ".join(f"{key} {value}" for key, value in sorted((snapshot.counts or {}).items()))
    return (f"LiFT-HRA snapshot {snapshot.number} of LiFT Studio (human ratings of generated videos on semantic "
            f"consistency, motion smoothness and video fidelity, Good / Normal / Bad with reasons): {counts}. "
            f"Splits by prompt; backbone `{lineage.get('backbone', version.base)}`.")


def _test_section(version: ModelVersion) -> str:
    metrics = version.metrics or {}
    lines = ["", "## Evaluation on the snapshot's held-out test split",
             "Accuracy against the annotators' majority per video, beside always answering the training majority.", "",
             "| dimension | accuracy | majority baseline | macro-F1 | ECE | critic vs one annotator | annotator vs annotator |",
             "|---|---|---|---|---|---|---|"]
    for dim, row in (metrics.get("dimensions") or {}).items():
        agreement = row.get("agreement") or {}
        cells = [row.get("accuracy"), row.get("majority_accuracy"), row.get("macro_f1"), row.get("ece"),
                 agreement.get("model_vs_annotator"), agreement.get("annotator_vs_annotator")]
        lines.append(f"| {dim} | " + " | ".join("–" if c is None else f"{c:.3f}" for c in cells) + " |")
    lines += ["", f"Mean accuracy: {metrics.get('mean_accuracy')}; test split: "
                  f"`{json.dumps(metrics.get('test_split'), sort_keys=True)}`.", ""]
    return "\n".join(lines)


def critic_export(*, version: ModelVersion, out_dir: str | Path, layout: str = "merged") -> Path:
    """Write the critic to out_dir (replaced whole), with README.md (model card) and lift_critic.json."""
    from ..engine.critic.export import export_critic

    if layout not in LAYOUTS:
        raise ApplicationError(f"layout must be one of {', '.join(LAYOUTS)}.", fields={"layout": "unknown"})
    critic_dir = _trained_dir(version)
    try:
        path = export_critic(critic_dir.parent, Path(out_dir), merged=layout == "merged",
                             data_description=_data_description(version))
    except ValueError as exc:  # a fully fine-tuned critic has no adapter
        raise Conflict(str(exc), code="not_exportable") from exc
    card = path / "README.md"
    card.write_text(card.read_text() + _test_section(version))
    return path


def critic_export_archive(*, version: ModelVersion, layout: str = "merged") -> Path:
    """The zipped export for download, built once per version and layout (a version never changes)."""
    root = Path(settings.LIFT["MODELS_DIR"]) / "exports"
    archive = root / f"critic-{version.pk}-{layout}.zip"
    if not archive.exists():
        folder = critic_export(version=version, out_dir=root / f"critic-{version.pk}-{layout}", layout=layout)
        zip_folder(folder, archive)
        shutil.rmtree(folder, ignore_errors=True)
    return archive
