"""The registry of job kinds: which queue each runs on, how its params are checked, what runs it.

Each kind's module registers itself with `register`; handlers are services that take the job and a
progress reporter and return a JSON-able result.
"""
from collections.abc import Callable
from dataclasses import dataclass

from lift.api_errors import ApplicationError

GPU, CPU = "gpu", "cpu"


@dataclass(frozen=True)
class JobKind:
    name: str
    queue: str
    validate: Callable[[dict], dict]
    run: Callable[..., dict]
    description: str = ""


_KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    _KINDS[kind.name] = kind
    return kind


def _load_all() -> None:
    # Importing the handler modules registers them; done lazily so the web process stays light.
    from .handlers import register_all

    register_all()


def get_kind(name: str) -> JobKind:
    _load_all()
    if name not in _KINDS:
        raise ApplicationError(
            f"Unknown job kind {name!r}; available: {', '.join(sorted(_KINDS))}.", code="unknown_job_kind",
            fields={"kind": "unknown"},
        )
    return _KINDS[name]


def available_kinds() -> list[JobKind]:
    _load_all()
    return sorted(_KINDS.values(), key=lambda k: k.name)
