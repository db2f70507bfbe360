#!/usr/bin/env bash
# Restore a scripts/backup.sh folder into an EMPTY database and an empty media folder, then prove it:
# checksums of the backup first, the whole database in one transaction (all or nothing), every media
# file checked against its recorded sha256, and the row counts compared with the manifest.
#
#   createdb -h host -U user lift_restored
#   DATABASE_URL=postgres://user@host:5432/lift_restored MEDIA_ROOT=/srv/lift/media-restored \
#     scripts/restore.sh var/backups/lift-backup-20260101T000000Z-1234
#
# Then run `manage.py migrate` (a no-op when the code matches the backup) and point the platform at it.
set -euo pipefail

dir=${1:?usage: scripts/restore.sh BACKUP_FOLDER}
: "${DATABASE_URL:?set DATABASE_URL to the empty database to restore into}"
: "${MEDIA_ROOT:?set MEDIA_ROOT to the empty (or missing) folder to restore the media into}"

(cd "$dir" && sha256sum --quiet -c SHA256SUMS) || { echo "backup $dir is damaged: checksums do not match" >&2; exit 3; }

tables=$(psql "$DATABASE_URL" -XAtqc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
[ "$tables" = 0 ] || { echo "database is not empty ($tables tables); restore only into a new, empty database" >&2; exit 4; }
if [ -d "$MEDIA_ROOT" ] && [ -n "$(ls -A "$MEDIA_ROOT")" ]; then
  echo "MEDIA_ROOT $MEDIA_ROOT is not empty; restore into an empty folder" >&2; exit 4
fi

pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname "$DATABASE_URL" "$dir/database.dump"
mkdir -p "$MEDIA_ROOT"
tar -C "$MEDIA_ROOT" -xf "$dir/media.tar"
(cd "$MEDIA_ROOT" && sha256sum --quiet -c "$(cd "$dir" && pwd)/media.sha256") \
  || { echo "restored media do not match their checksums" >&2; exit 5; }

export LIFT_RESTORE_DIR="$dir"
python3 - <<'PYEOF'
import json, os, subprocess, sys

manifest = json.load(open(os.path.join(os.environ["LIFT_RESTORE_DIR"], "manifest.json")))
wrong = []
for table, expected in manifest["rows"].items():
    found = int(subprocess.check_output(["psql", os.environ["DATABASE_URL"], "-XAtqc", f"SELECT count(*) FROM {table}"]))
    if found != expected:
        wrong.append(f"{table}: {found} rows, the backup had {expected}")
if wrong:
    sys.exit("restore incomplete: " + "; ".join(wrong))
rows = ", ".join(f"{n} {t}" for t, n in manifest["rows"].items())
print(f"restored {rows} and {manifest['media_files']} media files from {manifest['created_at']}")
PYEOF
