#!/usr/bin/env bash
# Celery Flower, never public by accident: it shows task arguments and tracebacks.
# Binds FLOWER_ADDRESS (default 127.0.0.1) and requires FLOWER_BASIC_AUTH ("user:password",
# comma-separated for several) unless DEBUG is on and it is bound to loopback (the local demo).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
[ -x "$BIN/celery" ] || BIN=$(dirname "$(command -v celery)")
ADDRESS=${FLOWER_ADDRESS:-127.0.0.1}
ARGS=(--address="$ADDRESS" --port="${FLOWER_PORT:-5555}")
if [ -n "${FLOWER_BASIC_AUTH:-}" ]; then
  ARGS+=(--basic-auth="$FLOWER_BASIC_AUTH")
elif [ "${DEBUG:-1}" = 1 ] && [ "$ADDRESS" = 127.0.0.1 ]; then
  echo "flower: no FLOWER_BASIC_AUTH; open on 127.0.0.1 only (local demo)" >&2
else
  echo "flower: refusing to start without FLOWER_BASIC_AUTH=user:password" >&2; exit 2
fi
exec "$BIN/celery" -A livescore flower "${ARGS[@]}"
