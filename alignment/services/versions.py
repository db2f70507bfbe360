"""Registering model versions (generator or critic) in the registry."""
from lift.api_errors import ApplicationError

from ..models import ModelVersion


def version_register(*, kind: str, name: str, base: str, config: dict | None = None, adapter_path: str = "",
                     parent: ModelVersion | None = None, lineage: dict | None = None, metrics: dict | None = None,
                     created_by_job=None) -> ModelVersion:
    """Idempotent by (kind, name): registering the same version twice returns the first row."""
    if kind not in ModelVersion.Kind.values:
        raise ApplicationError(f"kind must be one of {', '.join(ModelVersion.Kind.values)}.")
    version, _ = ModelVersion.objects.get_or_create(
        kind=kind, name=name,
        defaults=dict(base=base, config=config or {}, adapter_path=adapter_path, parent=parent,
                      lineage=lineage or {}, metrics=metrics or {}, created_by_job=created_by_job),
    )
    return version
