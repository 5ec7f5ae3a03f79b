"""SQLite (the default database, and the fast half of the tests): a savepoint that stays inside its transaction.

pysqlite (Python < 3.12, legacy transaction control) begins a transaction only before an INSERT,
UPDATE or DELETE, never before a SAVEPOINT. A savepoint opened first (the Idempotency-Key claim:
`begin_nested` before any write) therefore starts a transaction of its own, and releasing it
commits: a later rollback keeps what it held, and a refused checkout left its key claimed with no
reply, answering every retry 409 `request_in_progress`. Here a BEGIN is sent before such a
SAVEPOINT, so it nests in the request's transaction and a rollback takes everything back.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event

from shop.core.extensions import db


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "savepoint")
    def _begin_first(connection, _name):
        if not connection.connection.driver_connection.in_transaction:
            connection.exec_driver_sql("BEGIN")
