#!/usr/bin/env bash
# The one-command demo: embedded SQLite, broker-less Celery (filesystem transport), a real worker.
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_SETTINGS_MODULE=lift.settings.local
PY=.venv/bin/python
PORT=${PORT:-8000}
HOST=${HOST:-127.0.0.1}

$PY manage.py migrate --noinput
$PY -m celery -A lift worker -Q gpu,cpu --concurrency 1 --pool solo --loglevel WARNING > var/demo-worker.log 2>&1 &
WORKER=$!
trap 'kill $WORKER 2>/dev/null || true' EXIT INT TERM
$PY manage.py lift_demo

cat <<TXT

  LiFT Studio demo is starting on http://$HOST:$PORT/
    annotator:  annotator / annotate-demo
    reviewer:   reviewer  / review-demo
    admin:      admin     / admin-demo   (also /admin/ and /api/docs/)
  The worker generates the demo videos in the background (log: var/demo-worker.log).
  Press Ctrl+C to stop.

TXT
$PY manage.py runserver "$HOST:$PORT" --noreload
