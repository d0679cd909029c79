#!/usr/bin/env bash
# make test: the whole suite against a throwaway PostgreSQL and Redis, stopped afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_venv dev
TMP=$(mktemp -d /tmp/livescore-test.XXXXXX)
chmod 755 "$TMP"
cleanup() { set +e; stop_postgres "$TMP"; stop_redis "$TMP"; rm -rf "$TMP"; }
trap cleanup EXIT

REDIS_PORT=$(free_port); PG_PORT=$(free_port)
start_redis "$TMP" "$REDIS_PORT"
start_postgres "$TMP" "$PG_PORT"
log "PostgreSQL on 127.0.0.1:$PG_PORT, Redis on 127.0.0.1:$REDIS_PORT"

export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/livescore"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export DATABASE_CONN_MAX_AGE=0 DEBUG=1 LIVESCORE_VAR_DIR="$TMP/var" DJANGO_SETTINGS_MODULE=livescore.settings
mkdir -p "$TMP/var/static"
"$VENV/bin/pytest" "$@"
