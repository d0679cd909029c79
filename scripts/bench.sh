#!/usr/bin/env bash
# Run a benchmark against throwaway PostgreSQL and Redis servers:
#   bash scripts/bench.sh bench/settlement.py [args]
# PostgreSQL runs with its default durability (fsync, synchronous commit) and 1 GB of shared
# buffers, unlike the test cluster, so the numbers mean what they would in production.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_venv dev
PG_OPTS="-c shared_buffers=1GB -c max_wal_size=4GB -c checkpoint_timeout=30min" throwaway_servers
export LOG_LEVEL=WARNING
export ALLOWED_HOSTS="127.0.0.1,localhost,testserver"  # the REST timing uses the test client
# Benchmarks measure the stack, not its rate limits (docs/operations.md): lift them.
export THROTTLE_ANON=100000000/min THROTTLE_USER=100000000/min THROTTLE_WRITES=100000000/min
as_pg_user "$(pg_bin_dir)/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres livescore
"$VENV/bin/python" manage.py migrate -v0
"$VENV/bin/python" "$@"
