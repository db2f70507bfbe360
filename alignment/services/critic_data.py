"""A snapshot as critic data: its train / validation / test splits as engine examples, checked up front.

Our snapshots name each video by its place in the snapshot folder (`video`, `video_sha256`); the critic
engine reads `video_path`. The view written here resolves every row to a local file (the snapshot's own
copy when it was exported with videos, else the platform's file), so the engine's checks (empty split,
unknown dimension or rating, missing video) run unchanged — before any training starts.
"""
import hashlib
import json
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from annotation.models import Snapshot, Video
from annotation.snapshots.hra_format import SPLITS
from lift.api_errors import ApplicationError

from .scoring import video_local_path


def snapshot_for_critic(snapshot_id) -> Snapshot:
    """The snapshot, refused with the reason unless it is ready and its split files are there."""
    snapshot = Snapshot.objects.filter(pk=snapshot_id).first() if isinstance(snapshot_id, int) else None
    if snapshot is None:
        raise ApplicationError("snapshot must name an existing snapshot.", fields={"snapshot": "unknown"})
    if snapshot.status != Snapshot.Status.READY:
        raise ApplicationError(f"Snapshot {snapshot.number} is {snapshot.status}, not ready.",
                               code="snapshot_not_ready", fields={"snapshot": snapshot.status})
    data = Path(snapshot.folder_path) / "data"
    if missing := [s for s in SPLITS if not (data / f"{s}.jsonl").exists()]:
        raise ApplicationError(f"Snapshot {snapshot.number} has no {', '.join(missing)} split file.",
                               code="bad_snapshot", fields={"snapshot": "incomplete"})
    return snapshot


def held_out_split_identity(snapshot: Snapshot) -> dict:
    """What makes two critics' test accuracies comparable: the same test rows, byte for byte."""
    path = Path(snapshot.folder_path) / "data" / "test.jsonl"
    return {"snapshot": snapshot.pk, "number": snapshot.number,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def _pk_of(key: str) -> int | None:
    """A video without a sha256 is named videos/video-<pk>.<ext> in a snapshot."""
    stem = Path(key).stem
    return int(stem[6:]) if stem.startswith("video-") and stem[6:].isdigit() else None


def _platform_videos(rows: list[dict], folder: Path) -> tuple[dict, dict]:
    """({sha256: Video}, {pk: Video}) for the rows without their own copy in the snapshot, in two queries."""
    missing = [row for row in rows if not (row.get("video") and (folder / row["video"]).is_file())]
    shas = {row["video_sha256"] for row in missing if row.get("video_sha256")}
    pks = {pk for row in missing if not row.get("video_sha256") and (pk := _pk_of(row.get("video", ""))) is not None}
    by_sha: dict[str, Video] = {}
    for video in Video.objects.filter(sha256__in=shas).order_by("-pk"):
        by_sha[video.sha256] = video  # the oldest upload of the same bytes wins
    return by_sha, Video.objects.in_bulk(pks)


def write_critic_view(snapshot: Snapshot, out_dir: Path) -> Path:
    """out_dir/data/{split}.jsonl: the snapshot's rows with `video_path` set to a local file (the snapshot's
    own copy, else the platform's file; an unresolved row keeps its snapshot path, which the engine refuses
    as "video file not found")."""
    folder = Path(snapshot.folder_path)
    (out_dir / "data").mkdir(parents=True, exist_ok=True)
    rows = {split: [json.loads(line) for line in (folder / "data" / f"{split}.jsonl").read_text().splitlines()
                    if line.strip()] for split in SPLITS}
    by_sha, by_pk = _platform_videos([row for split_rows in rows.values() for row in split_rows], folder)
    resolved: dict[str, str] = {}
    for split in SPLITS:
        lines = []
        for row in rows[split]:
            key = row.get("video", "")
            if key not in resolved:
                own_copy = folder / key
                video = by_sha.get(row.get("video_sha256") or "") or by_pk.get(_pk_of(key))
                resolved[key] = (str(own_copy) if key and own_copy.is_file()
                                 else video_local_path(video, out_dir / "videos") if video else str(own_copy))
            row["video_path"] = resolved[key]
            lines.append(json.dumps(row, ensure_ascii=False))
        (out_dir / "data" / f"{split}.jsonl").write_text("\n".join(lines) + ("\n" if lines else ""))
    return out_dir


def load_split_examples(view_dir: Path) -> dict[str, list]:
    """{split: [CriticExample]} with the engine's refusals turned into a clear 4xx error."""
    from ..engine.critic.data import load_hra_examples
    from ..engine.critic.questions import CriticDataError

    examples = {}
    for split in SPLITS:
        try:
            examples[split] = load_hra_examples(view_dir, split)
        except CriticDataError as exc:
            raise ApplicationError(f"Bad snapshot: {exc}", code="bad_snapshot", fields={"snapshot": str(exc)}) from exc
    return examples


@contextmanager
def checked_snapshot(snapshot_id):
    """Check a snapshot as the training job will read it, in a throw-away view (the web process)."""
    snapshot = snapshot_for_critic(snapshot_id)
    tmp = Path(tempfile.mkdtemp(prefix="lift-critic-check-"))
    try:
        yield snapshot, load_split_examples(write_critic_view(snapshot, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def split_rows(view_dir: Path, split: str) -> list[dict]:
    path = view_dir / "data" / f"{split}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
