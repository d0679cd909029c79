#!/usr/bin/env bash
# make test: the whole suite against a throwaway PostgreSQL and Redis, stopped afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_venv dev
# The browser tests drive the operating system's Chromium (Playwright never downloads one).
export CHROMIUM_BIN=${CHROMIUM_BIN:-$(command -v chromium || true)}
[ -n "$CHROMIUM_BIN" ] || { apt_install chromium && CHROMIUM_BIN=$(command -v chromium); } || true
# The multi-node topology test (tests/integration/test_topology.py) runs the operating
# system's HAProxy and PgBouncer.
if ! command -v haproxy >/dev/null || ! [ -x "$(command -v pgbouncer || echo /usr/sbin/pgbouncer)" ]; then
  apt_install haproxy pgbouncer || log "HAProxy or PgBouncer missing: the topology test will fail"
fi
# The accessibility checks inject axe-core (pinned in package-lock.json) into each page.
if [ ! -f node_modules/axe-core/axe.min.js ]; then
  command -v npm >/dev/null || apt_install npm || log "npm missing: the accessibility test will fail"
  npm ci --no-audit --no-fund --silent
fi
export AXE_JS="$PWD/node_modules/axe-core/axe.min.js"
throwaway_servers
"$VENV/bin/pytest" "$@"
