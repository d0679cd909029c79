#!/usr/bin/env bash
# The live demo of `make run`: once the server answers, replay the 2022 final through the
# signed provider feed (as a match kicking off now), with a VAR decision, a duplicate and an
# out-of-order event; then again, until stopped. Watch it on ws://HOST:WEB_PORT/ws/ or
# GET /api/v1/matches/?status=live
set -uo pipefail
cd "$(dirname "$0")/.."
trap 'kill 0' INT TERM
URL="http://${HOST:-127.0.0.1}:${WEB_PORT:-8000}"
PY=.venv/bin/python
for _ in $(seq 120); do
  "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
    "$URL/readyz" >/dev/null 2>&1 && break
  sleep 1
done
while true; do
  # Kick-off DEMO_LEAD seconds after the match appears: time to predict it (REST or admin).
  "$PY" manage.py simulate_match arg-vs-fra-2022-12-18 \
    --speed "${DEMO_SPEED:-30}" --lead "${DEMO_LEAD:-60}" --url "$URL" --chaos &
  wait $!
  sleep 30 & wait $!
done
