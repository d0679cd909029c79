#!/usr/bin/env bash
# The demo's Prometheus (make run): scrapes the web process's /metrics and Flower every 5 s
# with the alert rules of deploy/prometheus/, on 127.0.0.1:PROMETHEUS_PORT (9090). Installed
# from the operating system's packages when missing; where it cannot be, it says how and
# idles (the process manager stops everything when one process exits).
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
BIN=$(command -v prometheus || true)
if [ -z "$BIN" ] && apt_install prometheus >&2; then
  BIN=$(command -v prometheus || true)
fi
if [ -z "$BIN" ]; then
  log "prometheus is not installed: apt-get install prometheus (or see prometheus.io/download); /metrics works without it"
  exec sleep infinity
fi
DIR=${LIVESCORE_VAR_DIR:-var}/prometheus-demo
mkdir -p "$DIR/data"
cp deploy/prometheus/alerts.yml "$DIR/alerts.yml"
# The demo's /metrics answers loopback without a token (DEBUG); production uses
# deploy/prometheus/prometheus.yml with METRICS_TOKEN.
cat > "$DIR/prometheus.yml" <<YAML
global: {scrape_interval: 5s, evaluation_interval: 5s}
rule_files: [alerts.yml]
scrape_configs:
  - job_name: livescore
    static_configs: [{targets: ["127.0.0.1:${WEB_PORT:-8000}"]}]
  - job_name: flower
    static_configs: [{targets: ["127.0.0.1:${FLOWER_PORT:-5555}"]}]
YAML
exec "$BIN" --config.file="$DIR/prometheus.yml" --storage.tsdb.path="$DIR/data" \
  --storage.tsdb.retention.time=2d --web.listen-address="127.0.0.1:${PROMETHEUS_PORT:-9090}"
