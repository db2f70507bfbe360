#!/usr/bin/env bash
# Back up PostgreSQL and the local media store into one folder:
#   database.dump    pg_dump custom format (one consistent snapshot of the database)
#   media.tar        a tar of MEDIA_ROOT, taken after the dump, so every file a dumped row names is in it
#   media.sha256     a checksum per media file (restore.sh checks every restored file against it)
#   manifest.json    when, from where (no password), tool versions, row counts, file sizes and checksums
#   SHA256SUMS       checksums of the four files above
#
#   DATABASE_URL=postgres://user@host:5432/lift MEDIA_ROOT=/srv/lift/media scripts/backup.sh [PARENT_DIR]
#
# Prints the new folder's path on its last line. Restore with scripts/restore.sh FOLDER.
# S3 media (LIFT_S3_BUCKET) is not in MEDIA_ROOT: protect the bucket with versioning or replication.
set -euo pipefail

: "${DATABASE_URL:?set DATABASE_URL to the database to back up (postgres://user@host:port/name)}"
MEDIA_ROOT=${MEDIA_ROOT:-var/media}
parent=${1:-var/backups}
[ -d "$MEDIA_ROOT" ] || { echo "MEDIA_ROOT $MEDIA_ROOT is not a folder" >&2; exit 2; }

dir="$parent/lift-backup-$(date -u +%Y%m%dT%H%M%SZ)-$$"
mkdir -p "$parent"
mkdir "$dir"  # never write into an existing backup
trap 'echo "backup failed; removing the incomplete $dir" >&2; rm -rf "$dir"' ERR

pg_dump --format=custom --no-owner --no-privileges --file "$dir/database.dump" "$DATABASE_URL"
(cd "$MEDIA_ROOT" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum) > "$dir/media.sha256"
tar -C "$MEDIA_ROOT" -cf "$dir/media.tar" .

count() { psql "$DATABASE_URL" -XAtqc "SELECT count(*) FROM $1"; }
export LIFT_BACKUP_DIR="$dir" LIFT_BACKUP_MEDIA_FILES="$(wc -l < "$dir/media.sha256")" \
  LIFT_BACKUP_ROWS="annotation_annotation=$(count annotation_annotation) annotation_annotationaudit=$(count annotation_annotationaudit) annotation_annotationreview=$(count annotation_annotationreview) annotation_video=$(count annotation_video) annotation_campaign=$(count annotation_campaign) auth_user=$(count auth_user)" \
  LIFT_BACKUP_PG_DUMP="$(pg_dump --version)" LIFT_BACKUP_SERVER="$(psql "$DATABASE_URL" -XAtqc 'SHOW server_version')"
python3 - <<'PYEOF'
import datetime, hashlib, json, os, re
from pathlib import Path

folder = Path(os.environ["LIFT_BACKUP_DIR"])

def digest(path):
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()

manifest = {
    "format": "lift-backup/1",
    "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    "database": re.sub(r"//([^:@/]+):[^@/]*@", r"//\1:***@", os.environ["DATABASE_URL"]),
    "server_version": os.environ["LIFT_BACKUP_SERVER"],
    "pg_dump": os.environ["LIFT_BACKUP_PG_DUMP"],
    "media_root": os.path.abspath(os.environ.get("MEDIA_ROOT", "var/media")),
    "media_files": int(os.environ["LIFT_BACKUP_MEDIA_FILES"]),
    "rows": {k: int(v) for k, v in (pair.split("=") for pair in os.environ["LIFT_BACKUP_ROWS"].split())},
    "files": {name: {"bytes": (folder / name).stat().st_size, "sha256": digest(folder / name)}
              for name in ("database.dump", "media.tar", "media.sha256")},
}
(folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
PYEOF
(cd "$dir" && sha256sum database.dump media.tar media.sha256 manifest.json > SHA256SUMS)
echo "$dir"
