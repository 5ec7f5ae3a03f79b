"""Real threads against the app, each request on its own database connection."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from shop.core.extensions import db
from tests.support.app import make_app


@pytest.fixture
def wide_app(app, database_url):
    """A second app on the same database with a pool big enough for every thread at once."""
    wide = make_app(database_url, SQLALCHEMY_ENGINE_OPTIONS={
        "pool_size": 60, "max_overflow": 0, "pool_timeout": 120})
    wide.config.update({k: app.config[k] for k in ("STRIPE_SECRET_KEY", "STRIPE_API_BASE",
                                                    "STRIPE_WEBHOOK_SECRET")})
    yield wide
    with wide.app_context():
        db.engine.dispose()


def hammer(wide_app, calls):
    """Run every (method, url, json, headers) at once from its own thread, each from its own client
    address (as many shoppers are: the per-address abuse limits must not decide a race); return the
    responses."""
    barrier = threading.Barrier(len(calls))

    def one(numbered):
        n, (method, url, body, headers) = numbered
        client = wide_app.test_client()
        barrier.wait()
        resp = client.open(url, method=method, json=body, headers=headers,
                           environ_base={"REMOTE_ADDR": f"127.0.{n // 250}.{n % 250 + 1}"})
        return resp.status_code, resp.get_json()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(one, enumerate(calls)))


def sent_while_locked(wide_app, changes: list[tuple[str, dict]], send):
    """Run `changes` (SQL, params) in a transaction of another connection, `send(client)` meanwhile
    from a thread, and commit once the request has waited 1.5 s: (it waited, its response)."""
    with wide_app.app_context():
        other = db.engine.connect()
    try:
        change = other.begin()
        for sql, params in changes:
            other.execute(text(sql), params)
        with ThreadPoolExecutor(max_workers=1) as pool:
            sent = pool.submit(lambda: send(wide_app.test_client()))
            time.sleep(1.5)  # the request is waiting for a row these changes locked
            waited = not sent.done()
            change.commit()
            return waited, sent.result(timeout=30)
    finally:
        other.close()
