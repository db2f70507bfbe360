#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis that the tests use are reachable: use them if they answer,
# start the locally installed servers if not, install Debian's packages first when running as root.
set -euo pipefail

DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/lift}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
PY=${PY:-.venv/bin/python}

read -r PG_HOST PG_PORT < <($PY - "$DATABASE_URL" <<'PYEOF'
import sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1]); print(u.hostname or "127.0.0.1", u.port or 5432)
PYEOF
)
read -r REDIS_HOST REDIS_PORT < <($PY - "$REDIS_URL" <<'PYEOF'
import sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1]); print(u.hostname or "127.0.0.1", u.port or 6379)
PYEOF
)

port_open() { $PY -c "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)" "$1" "$2" 2>/dev/null; }
is_root() { [ "$(id -u)" = 0 ]; }
local_host() { case "$1" in 127.*|localhost|::1) return 0;; *) return 1;; esac; }

apt_install() {
  if ! is_root; then return 1; fi
  echo "Installing $* from Debian's packages..."
  DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

wait_for() { for _ in $(seq 1 30); do port_open "$1" "$2" && return 0; sleep 1; done; return 1; }

if ! port_open "$PG_HOST" "$PG_PORT"; then
  local_host "$PG_HOST" || { echo "PostgreSQL at $PG_HOST:$PG_PORT is not reachable; start it or set DATABASE_URL." >&2; exit 1; }
  command -v pg_ctlcluster >/dev/null || apt_install postgresql || {
    echo "PostgreSQL is not running and not installed. Install it (apt-get install postgresql) or set DATABASE_URL." >&2; exit 1; }
  version=$(ls /etc/postgresql | sort -V | tail -1)
  conf=/etc/postgresql/$version/main
  # Tests connect as postgres over TCP without a password, as on the CI machines.
  if is_root && ! grep -q "lift-studio trust" "$conf/pg_hba.conf"; then
    sed -i '1i host all all 127.0.0.1/32 trust # lift-studio trust\nhost all all ::1/128 trust # lift-studio trust' "$conf/pg_hba.conf"
  fi
  echo "Starting PostgreSQL $version..."
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for "$PG_HOST" "$PG_PORT" || { echo "PostgreSQL did not come up on $PG_HOST:$PG_PORT." >&2; exit 1; }
fi

if ! port_open "$REDIS_HOST" "$REDIS_PORT"; then
  local_host "$REDIS_HOST" || { echo "Redis at $REDIS_HOST:$REDIS_PORT is not reachable; start it or set REDIS_URL." >&2; exit 1; }
  command -v redis-server >/dev/null || apt_install redis-server || {
    echo "Redis is not running and not installed. Install it (apt-get install redis-server) or set REDIS_URL." >&2; exit 1; }
  echo "Starting Redis..."
  mkdir -p /tmp/lift-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --dir /tmp/lift-redis
  wait_for "$REDIS_HOST" "$REDIS_PORT" || { echo "Redis did not come up on $REDIS_HOST:$REDIS_PORT." >&2; exit 1; }
fi
echo "PostgreSQL ($PG_HOST:$PG_PORT) and Redis ($REDIS_HOST:$REDIS_PORT) are up."
