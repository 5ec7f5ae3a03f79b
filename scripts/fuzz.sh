#!/usr/bin/env bash
# `make fuzz`: schemathesis from outside, as a real client would: the app under gunicorn on 127.0.0.1 with
# the demo data, every operation of the served spec in the coverage and fuzzing phases, once as the demo
# admin and once as the demo shopper. Fails on any 5xx or any response unlike its schema. Sign-out is left
# out (it would end the token the rest runs with); the suite's own schemathesis run covers it.
set -euo pipefail
VENV=${VENV:-.venv}
PORT=${FUZZ_PORT:-18765}
EXAMPLES=${FUZZ_EXAMPLES:-30}
work=$(mktemp -d)
export OMNISHOP_INSTANCE_DIR="$work" OMNISHOP_ENV=development FLASK_APP=wsgi:app LOG_LEVEL=WARNING
export DATABASE_URL=${FUZZ_DATABASE_URL:-sqlite:///$work/fuzz.db}
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM

"$VENV/bin/flask" db upgrade >/dev/null 2>&1
"$VENV/bin/flask" shop demo >/dev/null 2>&1
"$VENV/bin/gunicorn" --no-control-socket --workers 1 --bind "127.0.0.1:$PORT" wsgi:app 2>"$work/server.log" &
pid=$!
base="http://127.0.0.1:$PORT/api/v1"
for _ in $(seq 1 50); do "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('$base/stores')" \
  2>/dev/null && break; sleep 0.2; done

token() {
  "$VENV/bin/python" - "$base" "$1" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/auth/tokens", method="POST", headers={"Content-Type": "application/json"},
                             data=json.dumps({"email": sys.argv[2], "password": "omnishop-demo"}).encode())
print(json.load(urllib.request.urlopen(req))["token"])
PY
}

status=0
for who in admin@demo.omnishop.dev shopper@demo.omnishop.dev; do
  echo "== schemathesis as $who"
  "$VENV/bin/st" run "$base/openapi.json" --phases coverage,fuzzing \
    --checks not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance \
    --max-examples "$EXAMPLES" -H "Authorization: Bearer $(token "$who")" \
    --exclude-path /api/v1/auth/tokens/current \
    --request-timeout 30 || status=1
done
if grep -q "unhandled error" "$work/server.log"; then echo "the server logged unhandled errors:"; grep -m5 "unhandled error" "$work/server.log"; status=1; fi
exit $status
