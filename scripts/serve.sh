#!/usr/bin/env bash
# The HTTP + WebSocket server process. ASGI_SERVER picks the server: uvicorn (default, the
# faster fan-out in bench/fanout.py, see docs/benchmarks.md) or daphne (the reference server).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
[ -x "$BIN/daphne" ] || BIN=$(dirname "$(command -v daphne)")
HOST=${HOST:-127.0.0.1} PORT=${WEB_PORT:-8000}
case "${ASGI_SERVER:-uvicorn}" in
  daphne)
    exec "$BIN/daphne" -b "$HOST" -p "$PORT" --proxy-headers livescore.asgi:application ;;
  uvicorn)
    # Per-message deflate would compress the same frame once per socket: off.
    exec "$BIN/uvicorn" livescore.asgi:application --host "$HOST" --port "$PORT" \
      --ws "${UVICORN_WS:-websockets-sansio}" --ws-per-message-deflate false --ws-max-size 65536 \
      --lifespan off --no-access-log --proxy-headers ;;
  *) echo "ASGI_SERVER must be uvicorn or daphne" >&2; exit 2 ;;
esac
