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
    # Daphne with the documented limits (1007/1009 closes, slow sockets): gateway/daphne_server.py
    exec "$BIN/python" -m gateway.daphne_server -b "$HOST" -p "$PORT" --proxy-headers \
      livescore.asgi:application ;;
  uvicorn)
    # Per-message deflate would compress the same frame once per socket: off. The size limit
    # is realtime.protocol.SERVER_MAX_MESSAGE_BYTES (larger frames: 1009); the application
    # closes frames over 4096 bytes itself (4009).
    # Liveness is the application's (docs/protocol.md, "Liveness": the client's pings, the
    # server's hb, 4011 after 60 s of silence), so uvicorn's own protocol pings are off: a
    # timer per socket that would find nothing the idle close does not. HTTP keep-alive is
    # uvicorn's 5 s, set here so a change is deliberate.
    exec "$BIN/uvicorn" livescore.asgi:application --host "$HOST" --port "$PORT" \
      --ws "${UVICORN_WS:-websockets-sansio}" --ws-per-message-deflate false --ws-max-size 1048576 \
      --ws-ping-interval 0 --ws-ping-timeout 0 --timeout-keep-alive 5 \
      --lifespan off --no-access-log --proxy-headers ;;
  *) echo "ASGI_SERVER must be uvicorn or daphne" >&2; exit 2 ;;
esac
