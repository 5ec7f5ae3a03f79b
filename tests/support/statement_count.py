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
