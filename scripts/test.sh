#!/usr/bin/env bash
# make test: the whole suite against a throwaway PostgreSQL and Redis, stopped afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_venv dev
throwaway_servers
"$VENV/bin/pytest" "$@"
