"""The pure logic of the timeouts: settings -> engine and connect args, timeouts that must fit
together, what a database error means, and gunicorn's configuration and error pages."""

from __future__ import annotations

import json
import runpy
import socket
import sqlite3
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import exc

from shop import config as settings
from shop.core import database

ROOT = Path(__file__).resolve().parents[2]
PG_URL = "postgresql+psycopg://app@db.internal:5432/shop"


def config(**overrides) -> dict:
    return {**settings.load(), "SQLALCHEMY_DATABASE_URI": PG_URL, **overrides}


def test_postgres_gets_every_timeout_as_a_connect_arg():
    options = database.engine_options(config())
    args = options["connect_args"]
    assert args["connect_timeout"] == 2
    assert (args["keepalives"], args["keepalives_idle"], args["keepalives_interval"], args["keepalives_count"]) \
        == (1, 10, 3, 3)
    assert args["tcp_user_timeout"] == 5000
    assert args["options"] == ("-c statement_timeout=5000 -c lock_timeout=3000 "
                               "-c idle_in_transaction_session_timeout=60000")
    assert options["pool_pre_ping"] is True and options["pool_timeout"] == 2.0
    assert (options["pool_size"], options["max_overflow"]) == (5, 10)


def test_the_pool_is_sized_by_its_settings():
    options = database.engine_options(config(DB_POOL_SIZE=2, DB_POOL_MAX_OVERFLOW=0))
    assert (options["pool_size"], options["max_overflow"]) == (2, 0)


def test_a_zero_timeout_is_left_out_of_the_session_options():
    args = database.connect_args(config(DB_LOCK_TIMEOUT_MS=0, DB_IDLE_IN_TRANSACTION_TIMEOUT_MS=0))
    assert args["options"] == "-c statement_timeout=5000"
    args = database.connect_args(config(DB_STATEMENT_TIMEOUT_MS=0, DB_LOCK_TIMEOUT_MS=0,
                                        DB_IDLE_IN_TRANSACTION_TIMEOUT_MS=0))
    assert "options" not in args


def test_sqlite_gets_no_postgres_options():
    options = database.engine_options(config(SQLALCHEMY_DATABASE_URI="sqlite:///x.db"))
    assert options == {"pool_pre_ping": True, "pool_recycle": 1800}


def test_explicit_engine_options_win():
    options = database.engine_options(config(SQLALCHEMY_ENGINE_OPTIONS={"pool_timeout": 120, "pool_size": 60}))
    assert options["pool_timeout"] == 120 and options["pool_size"] == 60
    assert "connect_args" in options


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("DB_STATEMENT_TIMEOUT_MS", "1500")
    monkeypatch.setenv("STRIPE_CALL_BUDGET_SECONDS", "7.5")
    monkeypatch.setenv("DB_SUSPECT_AFTER_SECONDS", "0")
    monkeypatch.setenv("DB_SUSPECT_PROBE_TIMEOUT_SECONDS", "0.25")
    loaded = settings.load()
    assert loaded["DB_STATEMENT_TIMEOUT_MS"] == 1500 and loaded["STRIPE_CALL_BUDGET_SECONDS"] == 7.5
    assert (loaded["DB_SUSPECT_AFTER_SECONDS"], loaded["DB_SUSPECT_PROBE_TIMEOUT_SECONDS"]) == (0, 0.25)
    monkeypatch.setenv("DB_PING_TIMEOUT_SECONDS", "soon")
    with pytest.raises(RuntimeError, match="DB_PING_TIMEOUT_SECONDS must be a number"):
        settings.load()


def test_the_default_timeouts_fit_together():
    defaults = settings.load()
    settings.check_timeouts(defaults)
    assert defaults["WORKER_TIMEOUT_SECONDS"] > settings.slowest_request_seconds(defaults)


def test_the_slowest_request_counts_the_probe_where_it_can_lengthen_a_wait():
    # pool 2, ping 1 then its probe 0.5, connect 2, a statement's answer limit 6 (its probe at 1 s
    # fits inside), two Stripe calls of 8.
    assert settings.slowest_request_seconds(config()) == 2 + 1.5 + 2 + 6 + 2 * 8
    assert settings.slowest_request_seconds(config(DB_SUSPECT_AFTER_SECONDS=0)) == 2 + 1 + 2 + 6 + 2 * 8
    assert settings.longest_wait_seconds(config(DB_SUSPECT_AFTER_SECONDS=5.8), 6.0) == 5.8 + 0.5


def test_no_probe_needs_no_probe_timeout():
    settings.check_timeouts(config(DB_SUSPECT_AFTER_SECONDS=0, DB_SUSPECT_PROBE_TIMEOUT_SECONDS=0))


@pytest.mark.parametrize(("overrides", "complaint"), [
    ({"WORKER_TIMEOUT_SECONDS": 20}, "WORKER_TIMEOUT_SECONDS (20) must exceed"),
    ({"STRIPE_CALL_BUDGET_SECONDS": 14.0}, "WORKER_TIMEOUT_SECONDS (30) must exceed"),
    ({"DB_ANSWER_TIMEOUT_SECONDS": 5.0}, "DB_ANSWER_TIMEOUT_SECONDS (5) must exceed DB_STATEMENT_TIMEOUT_MS"),
    ({"STRIPE_CALL_BUDGET_SECONDS": 6.0}, "must hold one attempt"),
    ({"REFUND_IN_FLIGHT_GRACE_SECONDS": 30}, "REFUND_IN_FLIGHT_GRACE_SECONDS (30) must exceed WORKER_TIMEOUT_SECONDS"),
    ({"DB_SUSPECT_AFTER_SECONDS": -1.0}, "DB_SUSPECT_AFTER_SECONDS must be 0 (no probe) or positive"),
    ({"DB_SUSPECT_PROBE_TIMEOUT_SECONDS": 0.0}, "DB_SUSPECT_PROBE_TIMEOUT_SECONDS must be positive"),
    # A probe that may take 3 s makes the ping's wait 1 + 3 s: 2 + 4 + 2 + 6 + 2 x 8 = 30 s.
    ({"DB_SUSPECT_PROBE_TIMEOUT_SECONDS": 3.0}, "the slowest request the other timeouts allow (30 s)"),
])
def test_timeouts_that_do_not_fit_refuse_to_start(overrides, complaint):
    with pytest.raises(RuntimeError, match=complaint.replace("(", r"\(").replace(")", r"\)")):
        settings.check_timeouts(config(**overrides))


def wrapped(orig: Exception, cls=exc.OperationalError, invalidated: bool = False) -> exc.DBAPIError:
    return cls("SELECT 1", {}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(("error", "meaning"), [
    (wrapped(psycopg.errors.LockNotAvailable("lock timeout")), "busy"),
    (wrapped(psycopg.errors.QueryCanceled("statement timeout")), "busy"),
    (wrapped(psycopg.OperationalError("connection refused")), "unavailable"),
    (wrapped(database.AnswerTimeout("no answer")), "unavailable"),
    (wrapped(psycopg.errors.AdminShutdown("terminating connection")), "unavailable"),
    (wrapped(psycopg.errors.TooManyConnections("too many clients")), "unavailable"),
    (wrapped(psycopg.InterfaceError("the connection is closed"), exc.InterfaceError), "unavailable"),
    (exc.TimeoutError("QueuePool limit reached"), "unavailable"),
    (wrapped(psycopg.errors.DeadlockDetected("deadlock")), None),
    (wrapped(psycopg.errors.UndefinedTable("no such table"), exc.ProgrammingError), None),
    (wrapped(psycopg.ProgrammingError("wrong number of parameters"), exc.ProgrammingError), None),
    (wrapped(sqlite3.OperationalError("database is locked")), "busy"),
    (wrapped(sqlite3.OperationalError("unable to open database file")), "unavailable"),
    (wrapped(sqlite3.OperationalError("no such table: carts")), None),
    (ValueError("not a database error"), None),
])
def test_what_a_database_error_means(error, meaning):
    assert database.classify(error) == meaning


def test_gunicorn_conf_sets_the_worker_timeout_and_no_control_socket():
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    defaults = settings.load()
    assert conf["timeout"] == defaults["WORKER_TIMEOUT_SECONDS"] > settings.slowest_request_seconds(defaults)
    assert conf["control_socket_disable"] is True


def test_gunicorn_conf_refuses_a_worker_timeout_shorter_than_the_budgets(monkeypatch):
    monkeypatch.setenv("WORKER_TIMEOUT_SECONDS", "10")
    with pytest.raises(RuntimeError, match="WORKER_TIMEOUT_SECONDS"):
        runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_gunicorns_own_error_answer_is_problem_json():
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    ours, theirs = socket.socketpair()
    with ours, theirs:
        conf["problem_error"](ours, 400, "Bad Request", "Invalid Request Line 'GET /<script>'")
        head, body = theirs.recv(65536).decode("latin1").split("\r\n\r\n", 1)
    assert "Content-Type: application/problem+json" in head and head.startswith("HTTP/1.1 400 Bad Request")
    problem = json.loads(body)
    assert problem["status"] == 400 and problem["code"] == "bad_request"
    assert "<script>" not in body
