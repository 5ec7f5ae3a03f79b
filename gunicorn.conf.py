"""gunicorn settings for every way Omnishop is served: scripts/run.sh passes this file with -c, and
gunicorn reads it by itself when started in the project directory (docs/operations.md).

The worker timeout is set here, explicitly, from WORKER_TIMEOUT_SECONDS, and gunicorn refuses to
start when it does not exceed the slowest request the other timeouts allow (shop.config): a worker
killed mid-request answers nobody, so every wait must end first and give the app's own 503 or 502.
gunicorn's own error answers (a malformed request line, headers too large) are problem+json too.

A request line may be 8190 bytes (gunicorn's largest bounded value; its default is 4094): a list's
cursor or a stock query for 100 SKUs, percent-encoded, can pass 4094 (found by `make fuzz`).

Metrics (docs/operations.md#metrics): every worker writes its series into PROMETHEUS_MULTIPROC_DIR,
which `on_starting` sets before any worker imports prometheus-client (a fresh temporary directory
unless scripts/run.sh or the operator set one), and a worker that exits is marked dead, so its live gauges
(pool use) leave the sum while its counters and histograms stay in it.
"""

import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gunicorn.util  # noqa: E402

from shop import config as settings  # noqa: E402

_made_metrics_dir = None

_settings = settings.load()
settings.check_timeouts(_settings)

timeout = _settings["WORKER_TIMEOUT_SECONDS"]
graceful_timeout = timeout
limit_request_line = 8190
control_socket_disable = True  # no control socket anywhere (run.sh also says --no-control-socket)

_CODES = {400: "bad_request", 403: "forbidden", 414: "uri_too_long", 417: "expectation_failed",
          431: "headers_too_large", 500: "internal_error", 501: "not_implemented"}


def problem_error(sock, status_int, reason, mesg):
    """Replaces gunicorn.util.write_error (its HTML page): the same status as problem+json, in our
    words only (gunicorn's message may echo the raw request)."""
    code = _CODES.get(status_int, "http_error")
    detail = ("Something went wrong on our side." if status_int >= 500
              else f"{reason}: the server could not read this request.")
    body = json.dumps({"type": f"https://omnishop.dev/problems/{code}", "title": reason, "status": status_int,
                       "detail": detail, "code": code})
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n")
    gunicorn.util.write_nonblock(sock, (head + body).encode("latin1"))


gunicorn.util.write_error = problem_error


def on_starting(server):
    """In the master, before any worker: a fresh metrics directory unless one was given. (A hook, not
    at import: reading this file, as the tests do, must not change the reader's environment.)"""
    global _made_metrics_dir
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _made_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="omnishop-metrics-")


def child_exit(server, worker):
    """A dead worker's live gauges (pool use) leave the sum; its counters and histograms stay."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """The metrics directory made above goes with the master (one set by run.sh or the operator stays)."""
    if _made_metrics_dir:
        shutil.rmtree(_made_metrics_dir, ignore_errors=True)
