#!/usr/bin/env bash
# Serve the API and the tablet page with gunicorn (and, once it exists, the scheduler); Ctrl-C stops all.
set -euo pipefail
VENV=${VENV:-.venv}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
# Rate limits must be counted by every worker together (docs/security.md): Redis when one answers.
if [ -z "${RATELIMIT_STORAGE_URI:-}" ]; then
  if "$VENV/bin/python" -c "import redis; redis.Redis.from_url('redis://127.0.0.1:6379/0', socket_connect_timeout=1).ping()" 2>/dev/null; then
    export RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379/0
    echo "Rate limits: shared by every worker through Redis at 127.0.0.1:6379"
  else
    echo "Rate limits: NO Redis at 127.0.0.1:6379, so they FALL BACK TO MEMORY: each of the ${WORKERS:-2} workers" \
         "counts alone (set RATELIMIT_STORAGE_URI=redis://HOST:6379/0 to share them)"
  fi
else
  echo "Rate limits: counted in ${RATELIMIT_STORAGE_URI%%://*} storage (RATELIMIT_STORAGE_URI)"
fi
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait || true; }
trap cleanup INT TERM EXIT

"$VENV/bin/gunicorn" --no-control-socket --workers "${WORKERS:-2}" --bind "$HOST:$PORT" \
  wsgi:app &
pids+=($!)
if "$VENV/bin/flask" scheduler --help >/dev/null 2>&1; then
  "$VENV/bin/flask" scheduler run &
  pids+=($!)
fi
echo "Omnishop is up: API docs at http://$HOST:$PORT/api/v1/docs (spec: /api/v1/openapi.json)"
wait -n "${pids[@]}"
