#!/usr/bin/env bash
# Serve the API, the tablet and the marketing console with gunicorn beside the scheduler (the sweeps); Ctrl-C stops all.
# gunicorn.conf.py sets the worker timeout (WORKER_TIMEOUT_SECONDS) and checks it against the others.
set -euo pipefail
cd "$(dirname "$0")/.."
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
# Metrics: gunicorn's workers and the scheduler write their series into one fresh directory, and
# /metrics adds them up (docs/operations.md#metrics); it is removed on the way out.
export PROMETHEUS_MULTIPROC_DIR
PROMETHEUS_MULTIPROC_DIR=$(mktemp -d -t omnishop-metrics-XXXXXX)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait || true; rm -rf "$PROMETHEUS_MULTIPROC_DIR"; }
trap cleanup INT TERM EXIT

"$VENV/bin/gunicorn" --config gunicorn.conf.py --no-control-socket --workers "${WORKERS:-2}" \
  --bind "$HOST:$PORT" wsgi:app &
pids+=($!)
# One scheduler is enough; more (on other nodes) wait as followers. It releases its lease on TERM.
"$VENV/bin/flask" scheduler run &
pids+=($!)
echo "Omnishop is up: API docs at http://$HOST:$PORT/api/v1/docs (spec: /api/v1/openapi.json)"
echo "Counter tablet: http://$HOST:$PORT/tablet (sign in as a demo staff member above)"
echo "Marketing console: http://$HOST:$PORT/marketing (sign in as marketing@demo.omnishop.dev)"
wait -n "${pids[@]}"
