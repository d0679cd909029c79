#!/usr/bin/env bash
# make run: the whole system on embedded defaults, with a live demo. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_venv
export LIVESCORE_VAR_DIR=${LIVESCORE_VAR_DIR:-$PWD/var}
mkdir -p "$LIVESCORE_VAR_DIR"
HOST=${HOST:-127.0.0.1} WEB_PORT=${WEB_PORT:-8000} FLOWER_PORT=${FLOWER_PORT:-5555}
REDIS_PORT=${REDIS_PORT:-6379}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}
# The embedded default database: a PostgreSQL cluster of the project's own under var/pg,
# started here and stopped on exit. DATABASE_URL points elsewhere instead.
if [ -z "${DATABASE_URL:-}" ]; then
  PG_PORT=${PG_PORT:-5433}
  start_local_postgres "$LIVESCORE_VAR_DIR/postgres" "$PG_PORT"
  trap 'stop_postgres "$LIVESCORE_VAR_DIR/postgres" fast' EXIT
  export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/livescore"
fi
export REDIS_SERVER_BIN; REDIS_SERVER_BIN=$(redis_server_bin)
# Metrics of every process (web, workers) are added up from one directory, emptied here so
# counters of an earlier run do not linger (docs/operations.md, "Match night").
export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-$LIVESCORE_VAR_DIR/prometheus}
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
export HOST WEB_PORT FLOWER_PORT REDIS_PORT

PY="$VENV/bin/python"
"$PY" manage.py migrate --noinput -v0
"$PY" manage.py collectstatic --noinput -v0
"$PY" manage.py load_worldcup
"$PY" manage.py load_worldcup --year 2026  # the second competition of the demo: browse it by day
"$PY" manage.py create_demo_operator
# Web Push keys (VAPID), made once for this demo and kept with its data (docs/notifications.md).
if [ -z "${VAPID_PRIVATE_KEY:-}" ]; then
  [ -s "$LIVESCORE_VAR_DIR/vapid.env" ] || "$PY" manage.py vapid_keys > "$LIVESCORE_VAR_DIR/vapid.env"
  set -a; . "$LIVESCORE_VAR_DIR/vapid.env"; set +a
fi
export PUSH_DEMO_PORT=${PUSH_DEMO_PORT:-8900}
# The demo plays at 30x: a goal's VAR hold of 5 s is 2.5 minutes of its match (20 s in
# production); its VAR decision comes 1 s after the goal, well inside it.
export PUSH_HOLD_SECONDS=${PUSH_HOLD_SECONDS:-5}

cat >&2 <<MSG

  livescore is starting:
    The fans' app http://$HOST:$WEB_PORT/
    API docs      http://$HOST:$WEB_PORT/api/docs/
    REST API      http://$HOST:$WEB_PORT/api/v1/matches/
    The final     http://$HOST:$WEB_PORT/api/v1/matches/arg-vs-fra-2022-12-18/
    Admin         http://$HOST:$WEB_PORT/admin/   (login above)
    Metrics       http://$HOST:$WEB_PORT/metrics  (Prometheus; loopback only in the demo)
    Prometheus    http://127.0.0.1:${PROMETHEUS_PORT:-9090}/  (installed with apt-get when missing)
    Pushes        a local push service prints every push the demo fan gets (docs/notifications.md)
    Flower        http://127.0.0.1:$FLOWER_PORT/  (loopback only, no login in the demo;
                  FLOWER_BASIC_AUTH=user:password adds one)
    Redis         $REDIS_URL
    PostgreSQL    $DATABASE_URL
  Ctrl-C stops everything.

MSG
# Not exec: the trap above stops PostgreSQL when the process manager ends.
"$VENV/bin/honcho" -f Procfile.dev start
