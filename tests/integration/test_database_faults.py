"""The database under faults, for real: PostgreSQL behind the fault suite's TCP proxy (refused,
black-holed) and a busy row held by another connection. Users get 503 problem+json with
Retry-After, the app recovers without a restart, an outage logs one traceback, nothing waits
without a limit, and a silent server is told from a slow one by a probe (shop.core.suspicion). A hang would be the failure here, so calls that could hang run on a thread that
the test waits for with a generous limit (a ceiling against hanging forever, not a timing claim)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time

import psycopg
import pytest
from sqlalchemy import make_url, select, text
from sqlalchemy.exc import OperationalError

from faults.proxy import FaultProxy
from shop.app import create_app
from shop.core import database
from shop.core.extensions import db
from shop.core.suspicion import ServerSilent
from tests.support import factories as f
from tests.support.problems import assert_problem

NEVER = 30  # seconds: only a call that hangs takes this long


def app_on(url: str, **settings):
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test-secret-long-enough-to-pass-the-startup-check",
                       "RATELIMIT_STORAGE_URI": "memory://", **settings})


def finished(fn):
    """fn() on a thread; its result, or a failure if it has not returned in NEVER seconds."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(NEVER)
    assert not thread.is_alive(), "the call hung"
    if "error" in box:
        raise box["error"]
    return box["value"]


@pytest.fixture
def proxy(database_url):
    url = make_url(database_url)
    fault = FaultProxy((url.host or "127.0.0.1", url.port or 5432), "postgres")
    yield fault
    fault.close()


@contextlib.contextmanager
def cut(proxy: FaultProxy, mode: str):
    """The proxy in `mode` for the block, passing again after it whatever happened inside."""
    proxy.set(mode)
    try:
        yield
    finally:
        proxy.set("pass")


@pytest.fixture
def proxied(app, database_url, proxy):
    """A second app reaching the test database through the proxy, quick to retry after an outage."""
    def make(**settings):
        url = make_url(database_url).set(host="127.0.0.1", port=proxy.port).render_as_string(False)
        other = app_on(url, **{"DB_OUTAGE_RETRY_SECONDS": 0.05, **settings})
        made.append(other)
        return other

    made: list = []
    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


@pytest.fixture
def store(app):
    s = f.store(code="NYC")
    f.stock(s, f.product(sku="MUG", price=1200), 10)
    db.session.commit()
    return s


@pytest.mark.postgres
def test_every_session_starts_with_the_configured_timeouts(app):
    shown = {name: db.session.execute(text(f"SHOW {name}")).scalar()
             for name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")}
    assert shown == {"statement_timeout": "5s", "lock_timeout": "3s", "idle_in_transaction_session_timeout": "1min"}


@pytest.mark.postgres
def test_migrations_run_without_the_statement_timeout_and_their_connection_is_not_reused(app):
    with db.engine.connect() as conn:
        with database.unlimited(conn):
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "0"
            assert conn.execute(text("SHOW lock_timeout")).scalar() == "3s"
        assert conn.invalidated
    with db.engine.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "5s"


@pytest.mark.postgres
def test_a_row_held_too_long_is_a_503_database_busy_and_changes_nothing(app, database_url, store):
    staff = f.bearer(f.user("staff", [store]))
    impatient = app_on(database_url, DB_LOCK_TIMEOUT_MS=200)
    event = {"event_id": "r1", "type": "receipt", "lines": [{"sku": "MUG", "quantity": 5}]}
    conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(conninfo) as holder:
        holder.execute("SELECT on_hand FROM stock WHERE store_id = %s FOR UPDATE", (store.id,))
        resp = finished(lambda: impatient.test_client().post(
            f"/api/v1/stores/{store.id}/stock-events", json=event, headers=staff))
    assert_problem(resp, 503, "database_busy")
    assert resp.headers["Retry-After"] == "1"
    client = app.test_client()
    assert client.get(f"/api/v1/stores/{store.id}/stock?skus=MUG").get_json() == [{"sku": "MUG", "available": 10}]
    again = client.post(f"/api/v1/stores/{store.id}/stock-events", json=event, headers=staff)
    assert again.status_code in (200, 201), again.get_json()
    with impatient.app_context():
        db.engine.dispose()


@pytest.mark.postgres
def test_a_statement_over_the_statement_timeout_means_busy(app, database_url):
    slow = app_on(database_url, DB_STATEMENT_TIMEOUT_MS=100)
    with slow.app_context():
        with pytest.raises(OperationalError) as caught:
            db.session.execute(text("SELECT pg_sleep(2)"))
        db.session.rollback()
        assert database.classify(caught.value) == "busy"
        db.engine.dispose()


@pytest.mark.postgres
def test_a_refused_database_is_a_503_with_retry_after_one_traceback_and_a_recovery(proxied, proxy, store,
                                                                                    caplog):
    other = proxied()
    client = other.test_client()
    path = f"/api/v1/stores/{store.id}"
    assert client.get(path).status_code == 200
    with caplog.at_level(logging.INFO, logger="shop.core.database"):
        with cut(proxy, "refuse"):
            replies = [client.get(path) for _ in range(20)]
            outage = [r for r in caplog.records if r.name == "shop.core.database"]
        for resp in replies:
            assert_problem(resp, 503, "database_unavailable")
            assert resp.headers["Retry-After"] == "5"
        assert [r.levelname for r in outage] == ["ERROR"] and outage[0].exc_info  # one traceback for 20
        assert "127.0.0.1" not in replies[-1].get_data(as_text=True)
        for _ in range(NEVER * 20):  # the prober gets through and says so, then requests do: no restart
            told = [r.getMessage() for r in caplog.records if r.name == "shop.core.database"]
            if len(told) == 2 and client.get(path).status_code == 200:
                break
            time.sleep(0.05)
        assert client.get(path).status_code == 200
    assert len(told) == 2 and told[1].startswith("database reachable again")


@pytest.mark.postgres
def test_a_slow_statement_succeeds_with_the_default_settings(proxied):
    """Slow is not dead: quiet for 3 s, past the suspect point, the probe finds the server alive."""
    other = proxied()
    with other.app_context(), db.engine.connect() as conn:
        assert finished(lambda: conn.execute(text("SELECT pg_sleep(3), 7")).one()) == ("", 7)
        assert not conn.invalidated


@pytest.mark.postgres
def test_a_statement_on_a_black_holed_database_is_told_silent_by_the_probe(proxied, proxy):
    other = proxied()  # the defaults: the answer limit (6 s) is never reached, the probe decides
    with other.app_context(), db.engine.connect() as conn:
        assert conn.execute(select(1)).scalar() == 1
        with cut(proxy, "blackhole"), pytest.raises(OperationalError) as caught:
            finished(lambda: conn.execute(select(1)))
        assert isinstance(caught.value.orig, ServerSilent)
        assert database.classify(caught.value) == "unavailable"
        assert conn.invalidated


@pytest.mark.postgres
def test_a_black_holed_database_is_a_503_and_the_next_request_tries_no_connection(proxied, proxy, store, caplog):
    other = proxied(DB_OUTAGE_RETRY_SECONDS=60)
    client = other.test_client()
    path = f"/api/v1/stores/{store.id}"
    assert client.get(path).status_code == 200  # a pooled connection: its ping goes unanswered
    with caplog.at_level(logging.INFO, logger="shop.core.database"), cut(proxy, "blackhole"):
        first, second = finished(lambda: (client.get(path), client.get(path)))
        told = [r.getMessage() for r in caplog.records if r.name == "shop.core.database"]
    for resp in (first, second):
        assert_problem(resp, 503, "database_unavailable")
        assert resp.headers["Retry-After"] == "5"
    assert told == ["database unreachable: NotTried: the database went silent: not tried for this request"]


@pytest.mark.postgres
def test_a_statement_on_a_silent_database_ends_at_the_answer_limit(proxied, proxy):
    other = proxied(DB_STATEMENT_TIMEOUT_MS=200, DB_ANSWER_TIMEOUT_SECONDS=0.5, DB_SUSPECT_AFTER_SECONDS=0)
    with other.app_context(), db.engine.connect() as conn:
        assert conn.execute(select(1)).scalar() == 1
        with cut(proxy, "blackhole"), pytest.raises(OperationalError) as caught:
            finished(lambda: conn.execute(select(1)))
        assert isinstance(caught.value.orig, database.AnswerTimeout)
        assert not isinstance(caught.value.orig, ServerSilent)  # no probe: the answer limit alone
        assert conn.invalidated  # a connection cut mid-statement is never used again


@pytest.mark.postgres
def test_a_silent_database_does_not_hold_a_request(proxied, proxy, store):
    other = proxied()
    client = other.test_client()
    path = f"/api/v1/stores/{store.id}"
    assert client.get(path).status_code == 200  # a pooled connection, now to be pinged
    with cut(proxy, "blackhole"):
        resp = finished(lambda: client.get(path))
    assert_problem(resp, 503, "database_unavailable")


@pytest.mark.postgres
def test_readyz_gives_up_on_a_silent_database_at_its_own_limit(proxied, proxy):
    other = proxied(READYZ_TIMEOUT_SECONDS=0.5)
    client = other.test_client()
    assert client.get("/readyz").status_code == 200
    with cut(proxy, "blackhole"):
        resp = finished(lambda: client.get("/readyz"))
    assert resp.status_code == 503
    assert resp.get_json()["reason"] == "database did not answer within 0.5 s"
    with cut(proxy, "refuse"):
        assert finished(lambda: client.get("/readyz")).status_code == 503


def test_a_database_file_that_cannot_be_opened_is_a_503_not_a_500(tmp_path):
    missing = app_on(f"sqlite:///{tmp_path / 'no-such-dir' / 'omnishop.db'}")
    resp = missing.test_client().get("/api/v1/stores/1")
    assert_problem(resp, 503, "database_unavailable")
    assert resp.headers["Retry-After"] == "5"
