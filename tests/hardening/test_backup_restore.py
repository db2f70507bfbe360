"""scripts/backup.sh and scripts/restore.sh: back up the test database and media, restore into a fresh,
empty database and media folder, and find every annotation, audit entry and media file again."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

from annotation.models import Annotation, AnnotationAudit, Video
from annotation.services.retraction import annotation_void
from tests.conftest import ROOT, _test_database_url
from tests.factories import UserFactory
from tests.snapshots.util import rated_campaign

pytestmark = pytest.mark.django_db(transaction=True)  # pg_dump reads committed rows only


def _run(script, *args, database_url, media_root, check=True):
    env = {**os.environ, "DATABASE_URL": database_url, "MEDIA_ROOT": str(media_root)}
    result = subprocess.run(["bash", str(ROOT / "scripts" / script), *map(str, args)], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def _admin_connection():
    conn = psycopg2.connect(_test_database_url().rsplit("/", 1)[0] + "/postgres")
    conn.autocommit = True
    return conn


@pytest.fixture
def fresh_database():
    """A new, empty database beside the test database, dropped afterwards."""
    name = f"{connection.settings_dict['NAME']}_restored"
    conn = _admin_connection()
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    yield _test_database_url().rsplit("/", 1)[0] + f"/{name}"
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def _rows(database_url, sql):
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def test_backup_restores_every_annotation_and_media_file_into_an_empty_database(settings, tmp_path, fresh_database):
    campaign, users, items, annotations = rated_campaign(n_videos=4, n_annotators=2)
    annotation_void(annotation=annotations[0], admin=UserFactory(roles=["admin"]), reason="duplicate upload")
    source_url = _test_database_url()

    backup = _run("backup.sh", tmp_path / "backups", database_url=source_url, media_root=settings.MEDIA_ROOT)
    folder = Path(backup.stdout.strip().splitlines()[-1])
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["rows"]["annotation_annotation"] == len(annotations) == 8
    assert manifest["media_files"] == Video.objects.count() == 4

    restored_media = tmp_path / "media-restored"
    restore = _run("restore.sh", folder, database_url=fresh_database, media_root=restored_media)
    assert "restored" in restore.stdout

    query = "SELECT id, annotator_id, item_id, ratings::text, state, idempotency_key FROM annotation_annotation ORDER BY id"
    expected = [(a.pk, a.annotator_id, a.item_id, a.ratings, a.state, a.idempotency_key)
                for a in Annotation.objects.order_by("id")]
    found = [(pk, user, item, json.loads(ratings), state, key) for pk, user, item, ratings, state, key
             in _rows(fresh_database, query)]
    assert found == expected
    assert _rows(fresh_database, "SELECT annotation_id, action, reason FROM annotation_annotationaudit") == list(
        AnnotationAudit.objects.values_list("annotation_id", "action", "reason"))
    for video in Video.objects.all():
        original = Path(settings.MEDIA_ROOT) / video.file.name
        assert (restored_media / video.file.name).read_bytes() == original.read_bytes()
    # The never-delete trigger came back with the data.
    with pytest.raises(psycopg2.Error, match="refused"):
        _rows(fresh_database, "DELETE FROM annotation_annotation")


def test_restore_refuses_a_damaged_backup_and_a_database_that_is_not_empty(settings, tmp_path, fresh_database):
    rated_campaign(n_videos=2, n_annotators=1)
    source_url = _test_database_url()
    folder = Path(_run("backup.sh", tmp_path / "backups", database_url=source_url,
                       media_root=settings.MEDIA_ROOT).stdout.strip().splitlines()[-1])

    into_source = _run("restore.sh", folder, database_url=source_url, media_root=tmp_path / "m1", check=False)
    assert into_source.returncode == 4 and "not empty" in into_source.stderr

    damaged = tmp_path / "damaged"
    shutil.copytree(folder, damaged)
    with open(damaged / "media.tar", "r+b") as handle:
        handle.seek(700)
        byte = handle.read(1)
        handle.seek(700)
        handle.write(bytes([byte[0] ^ 0xFF]))
    refused = _run("restore.sh", damaged, database_url=fresh_database, media_root=tmp_path / "m2", check=False)
    assert refused.returncode == 3 and "damaged" in refused.stderr
    assert _rows(fresh_database, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]
