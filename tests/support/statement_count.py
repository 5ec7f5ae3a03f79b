"""Count the SQL statements a block sends (pings, BEGIN and COMMIT are not seen by this hook)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import event

from shop.core.extensions import db


@contextlib.contextmanager
def statements() -> Iterator[list[str]]:
    """The statements sent inside the block, in order."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


@contextlib.contextmanager
def round_trips() -> Iterator[list[str]]:
    """PostgreSQL: the round trips to the server the block made, pings, BEGIN and COMMIT included
    (each time psycopg waits for a reply to what it sent; a rollback with no transaction open is
    settled without a word to the server). One entry per round trip: the module that waited."""
    import psycopg._cursor_base
    import psycopg.generators

    seen: list[str] = []
    places = [(psycopg.generators, "connection"), (psycopg._cursor_base, "cursor")]
    plain = [module.execute for module, _ in places]

    def counting(execute, where):
        def counted(pgconn):
            seen.append(where)
            return (yield from execute(pgconn))
        return counted

    for (module, where), execute in zip(places, plain, strict=True):
        module.execute = counting(execute, where)
    try:
        yield seen
    finally:
        for (module, _), execute in zip(places, plain, strict=True):
            module.execute = execute
