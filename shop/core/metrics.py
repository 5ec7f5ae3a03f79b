"""The Prometheus series each process records as it works: requests, the database pool, sweeps, leadership.

prometheus-client picks its storage when it is first imported: under gunicorn (and beside it, the
scheduler) PROMETHEUS_MULTIPROC_DIR is set (gunicorn.conf.py, scripts/run.sh) and every process
writes its figures into files there, which `/metrics` adds up whichever worker answers; without it
(tests, `flask run`) the series live in this process's default registry. Figures that only the
database knows (the outbox backlog, holds at risk, the lease) are read when scraped instead:
`register_gauges` (shop.core.metrics_endpoint serves both). docs/operations.md#metrics lists them.
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections.abc import Callable, Mapping

from flask import Flask, g, request
from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics, multiprocess
from sqlalchemy import event

from shop.core.extensions import db

disable_created_metrics()  # the *_created series: noise here, and multiprocess mode has none

GAUGES = "omnishop.scrape_gauges"  # app.extensions key: [(source, {name: help}, fn)]
_RULE_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")

# Latency by the URL rule (never the raw path: a cart id per series would be unbounded) and status.
REQUEST_SECONDS = Histogram(
    "omnishop_http_request_duration_seconds", "Time to answer a request, by URL rule and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
# Pool figures are per process and summed over the live ones (a dead worker's are dropped).
POOL_CHECKED_OUT = Gauge("omnishop_db_pool_checked_out", "Database connections in use.",
                         multiprocess_mode="livesum")
POOL_OVERFLOW = Gauge("omnishop_db_pool_overflow", "Connections open beyond pool_size (sampled at checkout).",
                      multiprocess_mode="livesum")
POOL_CAPACITY = Gauge("omnishop_db_pool_capacity", "pool_size + max_overflow: the most connections the "
                      "processes may hold.", multiprocess_mode="livesum")
SWEEP_SECONDS = Histogram("omnishop_sweep_duration_seconds", "Time a sweep run took, by outcome (ok, failed).",
                          ["sweep", "outcome"], buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120))
SWEEP_ROWS = Counter("omnishop_sweep_rows", "Rows the sweep runs handled.", ["sweep"])
SWEEP_FAILURES = Counter("omnishop_sweep_failures", "Sweep runs that failed.", ["sweep"])
SWEEP_LAST_OK = Gauge("omnishop_sweep_last_success_timestamp_seconds", "When a run of the sweep last ended "
                      "without failing (Unix time).", ["sweep"], multiprocess_mode="max")
LEADER = Gauge("omnishop_scheduler_leader", "1 on the scheduler process holding the lease, 0 on a follower.",
               multiprocess_mode="livemax")


def init_app(app: Flask) -> None:
    """Time every request and watch the engine's pool; call it right after db.init_app, so the timer
    starts before any other before_request hook can answer."""
    app.before_request(_start_timer)
    app.after_request(_record_request)
    with app.app_context():
        _watch_pool(db.engine)


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _record_request(response):
    started = g.pop("metrics_started", None)
    if started is not None:
        route = _route(request.url_rule.rule) if request.url_rule is not None else "<unmatched>"
        REQUEST_SECONDS.labels(request.method, route, str(response.status_code)).observe(
            time.perf_counter() - started)
    return response


@functools.cache
def _route(rule: str) -> str:
    """The rule as the OpenAPI spec writes it: /api/v1/carts/<cart:cart_id> -> /api/v1/carts/{cart_id}."""
    return _RULE_ARG.sub(r"{\1}", rule)


def _watch_pool(engine) -> None:
    """In use = checkouts minus checkins (the pool's own count still includes a connection while its
    checkin event runs); overflow sampled at each checkout."""
    pool = engine.pool
    if not hasattr(pool, "overflow"):  # SQLite's pools have no size to saturate
        return
    POOL_CAPACITY.set(pool.size() + max(0, getattr(pool, "_max_overflow", 0)))

    @event.listens_for(engine, "checkout")
    def _out(*_):
        POOL_CHECKED_OUT.inc()
        POOL_OVERFLOW.set(max(0, pool.overflow()))

    @event.listens_for(engine, "checkin")
    def _in(*_):
        POOL_CHECKED_OUT.dec()


def sweep_ran(name: str, rows: int | None, seconds: float) -> None:
    """Record one sweep run (shop.core.scheduler.run_sweep); `rows` None means it failed."""
    outcome = "failed" if rows is None else "ok"
    SWEEP_SECONDS.labels(name, outcome).observe(seconds)
    if rows is None:
        SWEEP_FAILURES.labels(name).inc()
    else:
        SWEEP_ROWS.labels(name).inc(rows)
        SWEEP_LAST_OK.labels(name).set(time.time())


def leading(is_leader: bool) -> None:
    LEADER.set(1 if is_leader else 0)


def register_gauges(app: Flask, source: str, helps: Mapping[str, str],
                    read: Callable[[], Mapping[str, float]]) -> None:
    """Gauges read from the database when scraped: `read()` runs one cheap query (check its plan uses
    an index) and returns {name: value} for the names in `helps` ({name: help text})."""
    app.extensions.setdefault(GAUGES, []).append((source, dict(helps), read))


def registered_gauges(app: Flask) -> list[tuple[str, dict[str, str], Callable[[], Mapping[str, float]]]]:
    return app.extensions.get(GAUGES, [])


def process_exiting() -> None:
    """A process leaving cleanly drops its live gauges (leadership, pool) from the aggregate, as
    gunicorn's child_exit hook does for a worker (gunicorn.conf.py)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(os.getpid())
