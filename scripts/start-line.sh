#!/usr/bin/env bash
# Starts the built server (one worker, ENGINE=uws, a loopback port), prints what its primary says
# about the engine (the engine-fallback line, if any, and the start record), and stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
PORT=${START_LINE_PORT:-39517} HOST=127.0.0.1 WORKERS=1 ENGINE=uws APP=echo LOG_LEVEL=info node dist/main.js >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  grep -q '"event":"listen".*"role":"primary"\|"role":"primary".*"event":"listen"\|all workers listening' "$log" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.2
done
grep -E '"event":"(engine-fallback|start)"' "$log" | grep '"role":"primary"' || cat "$log"
kill -TERM "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
rm -f "$log"
