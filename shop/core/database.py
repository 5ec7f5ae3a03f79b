"""The database connection under faults: engine options from the DB_* settings, a client-side limit
on every wait for the server, and what a driver error means (an outage, a busy row, or a bug).

statement_timeout and lock_timeout are enforced by the server, so they do nothing when the server or
the network goes silent; TCP keepalives and tcp_user_timeout catch a dead peer, not one that still
acknowledges packets (a stuck proxy or pooler). The answer limit here is the last word, so no request
waits on the database longer than DB_ANSWER_TIMEOUT_SECONDS for one round trip; a wait that goes quiet
asks shop.core.suspicion's probe first, and ends in about 1.5 s when the server is silent, not slow.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Literal

import psycopg
from flask import Flask
from sqlalchemy import event, exc, make_url

from shop.core.extensions import db
from shop.core.outages import Outage
from shop.core.suspicion import ServerSilent, Suspicion

log = logging.getLogger(__name__)

# Our own words for the two ways a database error is not a bug (shop.core.errors renders them).
Trouble = Literal["unavailable", "busy"]

# SQLSTATEs that mean "try again shortly": our lock_timeout or statement_timeout fired.
BUSY_STATES = {"55P03", "57014"}
# The server is going away, cannot take us, or the connection broke (class 08).
UNAVAILABLE_STATES = {"57P01", "57P02", "57P03", "53300"}


def engine_options(config: dict) -> dict:
    """SQLAlchemy engine options for the configured database; explicit SQLALCHEMY_ENGINE_OPTIONS win."""
    url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    # A connection, and any plan prepared on it (shop/core/plans.py), lives at most this long.
    options: dict = {"pool_pre_ping": True, "pool_recycle": config["DB_POOL_RECYCLE_SECONDS"]}
    if url.get_backend_name() == "postgresql":
        options["pool_timeout"] = config["DB_POOL_TIMEOUT_SECONDS"]
        options["pool_size"] = config["DB_POOL_SIZE"]
        options["max_overflow"] = config["DB_POOL_MAX_OVERFLOW"]
        options["connect_args"] = connect_args(config)
    return {**options, **config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}


def connect_args(config: dict) -> dict:
    """libpq parameters: how long to wait for a connection, when to call a silent peer dead, and the
    server-side timeouts every session starts with (0 leaves one out, e.g. behind a pooler that
    refuses startup options: then set it on the role instead)."""
    args: dict = {
        "connect_timeout": config["DB_CONNECT_TIMEOUT_SECONDS"],
        "keepalives": 1,
        "keepalives_idle": config["DB_KEEPALIVES_IDLE_SECONDS"],
        "keepalives_interval": config["DB_KEEPALIVES_INTERVAL_SECONDS"],
        "keepalives_count": config["DB_KEEPALIVES_COUNT"],
        "tcp_user_timeout": config["DB_TCP_USER_TIMEOUT_MS"],
    }
    session = {
        "statement_timeout": config["DB_STATEMENT_TIMEOUT_MS"],
        "lock_timeout": config["DB_LOCK_TIMEOUT_MS"],
        "idle_in_transaction_session_timeout": config["DB_IDLE_IN_TRANSACTION_TIMEOUT_MS"],
    }
    options = " ".join(f"-c {name}={value}" for name, value in session.items() if value)
    if options:
        args["options"] = options
    return args


class AnswerTimeout(psycopg.OperationalError):
    """The server did not answer one round trip in time; the connection was closed, as it must be
    (it is mid-statement and cannot be used again)."""


class GuardedConnection(psycopg.Connection):
    """psycopg's connection with a limit on how long any one round trip waits for the server, and
    (with a suspicion) a probe asked when the wait goes quiet, so a silent server ends it early."""

    answer_limit: float | None = None
    suspicion: Suspicion | None = None
    probe: Callable[[], None] | None = None  # a fresh connection and SELECT 1 to the same server

    def wait(self, gen, interval=0.1, timeout=None):
        limit = timeout if timeout is not None else self.answer_limit
        # psycopg wakes the wait every `interval` (0.1 s) even when nothing came: the watch's moment
        # to hand over to the probe.
        watch = self.suspicion.watch(self.probe) if self.suspicion and self.probe and limit else None
        try:
            return super().wait(watch.follow(gen) if watch else gen, interval, limit)
        except ServerSilent:
            self.close()
            raise
        except psycopg.errors._WaitTimeout as err:  # psycopg's own "timeout expired", private
            self.close()
            if watch:
                watch.at_limit()  # raises ServerSilent when the server is silent, not just this connection
            raise AnswerTimeout(f"the database did not answer within {limit:g} s") from err

    def rollback(self) -> None:
        """psycopg's ROLLBACK, keeping the statements prepared on the server (shop.core.plans).

        psycopg forgets them all on every ROLLBACK and sends DEALLOCATE ALL, in case the transaction
        made an object they came to depend on. Every read-only request ends in a ROLLBACK, so each
        cost a round trip more and left the next write on the connection to prepare its statements
        again. Prepared statements outlive a rollback on the server, and ours look up tables no
        request creates; psycopg still discards them on DROP, ALTER or DISCARD ALL, as it does after
        COMMIT. Its own rollback stands where its extra states are in play (pipeline, two-phase,
        transaction blocks)."""
        if self._pipeline or self._tpc or self._num_transactions:
            super().rollback()
            return
        with self.lock:
            if self.pgconn.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                self.wait(self._exec_command(b"ROLLBACK"))

    def begin_as_ping(self) -> bool:
        """The pool's ping as the transaction's BEGIN: the server answering BEGIN is as much a sign of
        life as its answering SELECT 1, and the request's first statement then finds its transaction
        open and sends no BEGIN of its own: one round trip fewer on every request. psycopg's own
        BEGIN (its `_start_query`, private) is sent, so its isolation level and read-only settings
        stand. False, and nothing sent, when it would not begin one (autocommit, or not idle)."""
        if self.autocommit or self.pgconn.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            return False
        self.wait(self._start_query())
        return True


OUTAGE_KEY = "omnishop-database-outage"


def outage(app: Flask) -> Outage:
    return app.extensions[OUTAGE_KEY]


class NotTried(psycopg.OperationalError):
    """The database is out (or a probe found it silent a moment ago): a request is answered at once
    while the prober tries it."""


def answers(cargs, cparams, limit: float) -> None:
    """The suspicion's probe: a fresh connection (never pooled, never watched) and SELECT 1."""
    with GuardedConnection.connect(*cargs, **cparams) as conn:
        conn.answer_limit = limit
        conn.execute("SELECT 1")


def init_app(app: Flask) -> None:
    """Track outages (told in a few lines); make every PostgreSQL connection a guarded one, not tried
    by requests while the database is out (a prober thread tries it), with pings quicker than
    statements."""
    with app.app_context():
        engine = db.engine
    config = app.config
    state = Outage(log, "database", config["DB_OUTAGE_LOG_INTERVAL_SECONDS"], config["DB_OUTAGE_RETRY_SECONDS"])
    app.extensions[OUTAGE_KEY] = state
    # A new connection means the database answers again (a broken one is never reused).
    event.listen(engine, "connect", lambda dbapi_connection, record: state.recovered())

    @app.teardown_appcontext
    def _close_session(_exc) -> None:
        # Runs before Flask-SQLAlchemy's own teardown (teardowns run last-registered first): a
        # session closed on a connection that broke after the response was made must not turn
        # that response into a 500; the outage is counted instead.
        try:
            db.session.remove()
        except exc.DBAPIError as error:
            if classify(error) != "unavailable":
                raise
            state.failed(error)

    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return
    answer = config["DB_ANSWER_TIMEOUT_SECONDS"] or None
    ping_limit = min(config["DB_PING_TIMEOUT_SECONDS"], answer or float("inf"))
    suspicion = Suspicion(config["DB_SUSPECT_AFTER_SECONDS"], config["DB_SUSPECT_PROBE_TIMEOUT_SECONDS"])

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, conn_rec, cargs, cparams):
        if state.ongoing:  # a thread of ours tries instead, and ends the outage when it gets through
            state.probe(lambda: psycopg.connect(*cargs, **cparams).close())
            raise NotTried("the database is unreachable: not tried for this request")
        if suspicion.silent():  # a ping just went unanswered and so did the probe: not worth a connect timeout
            raise NotTried("the database went silent: not tried for this request")
        conn = GuardedConnection.connect(*cargs, **cparams)
        conn.answer_limit = answer
        conn.suspicion = suspicion
        conn.probe = lambda: answers(cargs, cparams, config["DB_CONNECT_TIMEOUT_SECONDS"])
        return conn

    ping = engine.dialect.do_ping

    def do_ping(dbapi_connection) -> bool:
        # A pooled connection that went silent is found out in a second, not a statement's time.
        saved = dbapi_connection.answer_limit
        dbapi_connection.answer_limit = ping_limit
        try:
            return dbapi_connection.begin_as_ping() or ping(dbapi_connection)
        finally:
            dbapi_connection.answer_limit = saved

    engine.dialect.do_ping = do_ping


@contextlib.contextmanager
def unwatched(connection) -> Iterator[None]:
    """No silence probe on one SQLAlchemy connection for a while: a bulk statement that rightly keeps
    the server busy and quiet for seconds (seeding a big catalog), on a machine so loaded that a
    fresh connection may take over the probe's time. The answer limit and the server's timeouts stay."""
    dbapi = connection.connection.dbapi_connection if connection.dialect.name == "postgresql" else None
    if not isinstance(dbapi, GuardedConnection):
        yield
        return
    saved, dbapi.suspicion = dbapi.suspicion, None
    try:
        yield
    finally:
        dbapi.suspicion = saved


@contextlib.contextmanager
def unlimited(connection) -> Iterator[None]:
    """Lift the statement timeout and the answer limit on one SQLAlchemy connection for a while
    (migrations: an index build may rightly take minutes); lock_timeout stays, so a migration never
    queues traffic behind it. The connection is thrown away after, never pooled without its limits."""
    if connection.dialect.name != "postgresql":
        yield
        return
    connection.exec_driver_sql("SET statement_timeout = 0")
    connection.commit()
    dbapi = connection.connection.dbapi_connection
    if isinstance(dbapi, GuardedConnection):
        dbapi.answer_limit = dbapi.suspicion = None  # an index build may rightly keep it quiet for minutes
    try:
        yield
    finally:
        connection.invalidate()


def classify(error: Exception) -> Trouble | None:
    """What a database error means to a caller: the database is unreachable, a row or statement
    was too slow (retry shortly), or None: neither, a bug that must surface as one."""
    if isinstance(error, exc.TimeoutError):  # no pooled connection came free in time
        return "unavailable"
    if not isinstance(error, exc.DBAPIError):
        return None
    orig = error.orig
    if isinstance(orig, psycopg.Error):
        state = orig.sqlstate
        if state in BUSY_STATES:
            return "busy"
        connection_trouble = isinstance(orig, (psycopg.OperationalError, psycopg.InterfaceError))
        if connection_trouble and (error.connection_invalidated or state is None or state.startswith("08")
                                   or state in UNAVAILABLE_STATES):
            return "unavailable"
        return None
    # SQLite (sqlite3 errors carry no SQLSTATE): a writer holds the file, or the file is gone.
    message = str(orig).lower()
    if "database is locked" in message:
        return "busy"
    if error.connection_invalidated or "unable to open database" in message:
        return "unavailable"
    return None
