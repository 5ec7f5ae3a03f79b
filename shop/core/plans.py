"""How PostgreSQL plans our statements: for their values every time, except on purpose.

psycopg prepares any statement it has run 5 times, and PostgreSQL may then keep one generic plan
for it for the life of the connection. A generic plan made while the reservations table was small
kept scanning it as it grew: each hold got slower (29 ms after 500 holds, 357 ms after 2,000, in
the bench). So connections prepare nothing by default, and every statement is planned for the
values it runs with and the tables as they are.

A few hot statements are prepared on purpose (`prepared`): their plan is worth reusing (planning
the one-statement hold costs more than running it) and only looks rows up by unique keys. Their
cached plans are dropped whenever ANALYZE (autovacuum's or the imports') refreshes a table's
statistics. A leaf: imports only shop.extensions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flask import Flask
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from shop.core.extensions import db

# The databases that take our one-statement forms (data-modifying WITH queries: the ledger's write,
# a hold's claim, an order's move, the batched appends). A set, so a test can empty it and run the
# general path on PostgreSQL to compare (test_ledger_writes, test_order_move_writes).
ONE_STATEMENT_DIALECTS = {"postgresql"}


def one_statement() -> bool:
    """Whether this database takes the one-statement forms (a data-modifying CTE)."""
    return db.session.get_bind().dialect.name in ONE_STATEMENT_DIALECTS


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "connect")
    def _prepare_nothing(dbapi_connection, _record):
        dbapi_connection.prepare_threshold = None


def analyze(*tables: str) -> None:
    """After a bulk load, in its transaction: fresh statistics, so the planner (and every cached
    plan, which PostgreSQL drops when they change) sees the tables as they are now, not in a minute
    when autovacuum looks. The caller commits."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    db.session.execute(text("ANALYZE " + ", ".join(tables)))


@contextlib.contextmanager
def prepared(session: Session) -> Iterator[None]:
    """Statements run inside are prepared on the server the first time, and reused after."""
    connection = session.connection()  # the transaction's (asked once: each ask looks the bind up)
    if connection.dialect.name != "postgresql":
        yield
        return
    driver = connection.connection.driver_connection
    before, driver.prepare_threshold = driver.prepare_threshold, 0
    try:
        yield
    finally:
        driver.prepare_threshold = before
