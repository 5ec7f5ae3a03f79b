"""What PostgreSQL does with the statements a piece of code runs: each is run once more under
EXPLAIN ANALYZE, just before it runs for real, inside a savepoint that is rolled back."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import event

from shop.core.extensions import db

_EXPLAINABLE = ("select", "with", "insert", "update", "delete")


@dataclass(frozen=True)
class Explained:
    sql: str
    plan: dict
    execution_ms: float = 0.0  # the server's "Execution Time"

    def nodes(self) -> Iterator[dict]:
        todo = [self.plan]
        while todo:
            node = todo.pop()
            yield node
            todo += node.get("Plans", ())


@contextlib.contextmanager
def explained() -> Iterator[list[Explained]]:
    """The plan, with what each step read, of every statement run inside (on the state it ran on)."""
    seen: list[Explained] = []

    def listener(_conn, cursor, statement, parameters, _context, executemany):
        if not statement.lstrip().lower().startswith(_EXPLAINABLE):
            return
        if executemany and isinstance(parameters, list | tuple):
            parameters = parameters[0]
        with cursor.connection.cursor() as raw:  # the driver's own cursor: no events, same transaction
            raw.execute("SAVEPOINT explained")
            raw.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
            result = raw.fetchone()[0]
            raw.execute("ROLLBACK TO SAVEPOINT explained")
        top = (result if isinstance(result, list) else json.loads(result))[0]
        seen.append(Explained(statement, top["Plan"], top.get("Execution Time", 0.0)))

    engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def wide_reads(statements: list[Explained], tables: set[str], most: int) -> list[str]:
    """Every step that reads one of `tables` whole (a Seq Scan) or reads more than `most` of its
    rows in all (an index scan that only narrows to the store, say), with its statement."""
    found = []
    for item in statements:
        for node in item.nodes():
            table = node.get("Relation Name")
            if table not in tables:
                continue
            per_loop = node["Actual Rows"] + node.get("Rows Removed by Filter", 0) + node.get(
                "Rows Removed by Index Recheck", 0)
            read = per_loop * node["Actual Loops"]
            if node["Node Type"] == "Seq Scan" or read > most:
                found.append(f"{node['Node Type']} on {table} read {read:.0f} rows in: "
                             f"{' '.join(item.sql.split())[:300]}")
    return found
