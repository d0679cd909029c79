#!/usr/bin/env bash
# Run a benchmark against throwaway PostgreSQL and Redis servers:
#   bash scripts/bench.sh bench/settlement.py [args]
# PostgreSQL runs with its default durability (fsync, synchronous commit) and 1 GB of shared
# buffers, unlike the test cluster, so the numbers mean what they would in production.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_venv dev
TMP=$(mktemp -d /tmp/livescore-bench.XXXXXX)
chmod 755 "$TMP"
cleanup() { set +e; stop_postgres "$TMP"; stop_redis "$TMP"; rm -rf "$TMP"; }
trap cleanup EXIT

REDIS_PORT=$(free_port); PG_PORT=$(free_port)
start_redis "$TMP" "$REDIS_PORT"
PG_OPTS="-c shared_buffers=1GB -c max_wal_size=4GB -c checkpoint_timeout=30min" \
  start_postgres "$TMP" "$PG_PORT"
export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/livescore"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export DEBUG=1 LIVESCORE_VAR_DIR="$TMP/var" DJANGO_SETTINGS_MODULE=livescore.settings LOG_LEVEL=WARNING
export ALLOWED_HOSTS="127.0.0.1,localhost,testserver"  # the REST timing uses the test client
mkdir -p "$TMP/var"
as_pg_user "$(pg_bin_dir)/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres livescore
"$VENV/bin/python" manage.py migrate -v0
"$VENV/bin/python" "$@"
