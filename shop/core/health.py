"""Liveness (/healthz) and readiness (/readyz: database reachable and migrations at head, answered
within READYZ_TIMEOUT_SECONDS even when the database is silent)."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from flask_migrate import Migrate

from shop.core import database
from shop.core.extensions import db

bp = Blueprint("health", __name__)


def migration_heads() -> set[str]:
    migrate: Migrate = current_app.extensions["migrate"].migrate
    config = migrate.get_config()
    return set(ScriptDirectory.from_config(config).get_heads())


class Probe:
    """Runs a check on a thread of its own and waits for it at most `limit` seconds. At most one
    check is in flight per process: a caller arriving while one is stuck waits on that one, so a
    silent database never piles up threads (each ends by itself within the connection timeouts)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._future: Future | None = None

    def run(self, check, limit: float):
        with self._lock:
            if self._future is None or self._future.done():
                self._future = Future()
                threading.Thread(target=_settle, args=(self._future, check), daemon=True,
                                 name="readyz-probe").start()
            future = self._future
        return future.result(timeout=limit)


def _settle(future: Future, check) -> None:
    try:
        future.set_result(check())
    except BaseException as exc:  # handed to the waiting request, which answers 503
        future.set_exception(exc)


def _current_heads(engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    engine, limit = db.engine, current_app.config["READYZ_TIMEOUT_SECONDS"]
    probe = current_app.extensions.setdefault("omnishop-readyz", Probe())
    try:
        current = probe.run(lambda: _current_heads(engine), limit)
    except FutureTimeout:
        # Told like any other failure of the outage: a few lines, however often readyz is polled.
        database.outage(current_app).failed(TimeoutError(f"readiness: no answer within {limit:g} s"))
        return jsonify(status="unavailable", reason=f"database did not answer within {limit:g} s"), 503
    except Exception as exc:  # any driver error means "not ready", never a 500
        database.outage(current_app).failed(exc)
        return jsonify(status="unavailable", reason="database unreachable"), 503
    heads = migration_heads()
    if current != heads:
        return (
            jsonify(
                status="unavailable",
                reason="migrations not at head",
                current=sorted(current),
                head=sorted(heads),
            ),
            503,
        )
    return jsonify(status="ready", migration=sorted(current))
