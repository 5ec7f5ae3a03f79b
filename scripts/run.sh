#!/usr/bin/env bash
# Serve the API and the tablet page with gunicorn (and, once it exists, the scheduler); Ctrl-C stops all.
set -euo pipefail
VENV=${VENV:-.venv}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
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
echo "Counter tablet: http://$HOST:$PORT/tablet (sign in as a demo staff member above)"
wait -n "${pids[@]}"
