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
from lift.api_errors import ApplicationError

from .scoring import video_local_path

SPLITS = ("train", "validation", "test")


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


def test_split_identity(snapshot: Snapshot) -> dict:
    """What makes two critics' test accuracies comparable: the same test rows, byte for byte."""
    path = Path(snapshot.folder_path) / "data" / "test.jsonl"
    return {"snapshot": snapshot.pk, "number": snapshot.number,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def _resolve_video(row: dict, folder: Path, spill_dir: Path) -> str:
    own_copy = folder / row.get("video", "")
    if row.get("video") and own_copy.is_file():
        return str(own_copy)
    video = None
    if row.get("video_sha256"):
        video = Video.objects.filter(sha256=row["video_sha256"]).order_by("pk").first()
    elif (stem := Path(row.get("video", "")).stem).startswith("video-") and stem[6:].isdigit():
        video = Video.objects.filter(pk=int(stem[6:])).first()
    # Unresolved rows keep their snapshot path: the engine refuses them as "video file not found".
    return video_local_path(video, spill_dir) if video else str(own_copy)


def write_critic_view(snapshot: Snapshot, out_dir: Path) -> Path:
    """out_dir/data/{split}.jsonl: the snapshot's rows with `video_path` set to a local file."""
    folder = Path(snapshot.folder_path)
    (out_dir / "data").mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        lines = []
        for line in (folder / "data" / f"{split}.jsonl").read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                row["video_path"] = _resolve_video(row, folder, out_dir / "videos")
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
