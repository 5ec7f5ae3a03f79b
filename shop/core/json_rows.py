"""A batch of rows passed as one JSON parameter and read as a table, so one INSERT ... SELECT (or
any statement) takes hundreds of rows in a single round trip: PostgreSQL's `json_to_recordset`,
SQLite's `json_each`. Values are spelled as each column's type binds them (a timestamp as SQLite
stores it), so what the statement writes is what an ORM insert would have written.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence

from sqlalchemy import JSON, String, cast, column, func, literal, select
from sqlalchemy.sql import FromClause
from sqlalchemy.types import TypeEngine

from shop.core.extensions import db


def _spelled(rows: Sequence[Mapping], columns: Mapping[str, TypeEngine], dialect) -> str:
    processors = {name: None if isinstance(type_, JSON) else type_.dialect_impl(dialect).bind_processor(dialect)
                  for name, type_ in columns.items()}

    def value(name: str, row: Mapping):
        found, processor = row.get(name), processors[name]
        found = processor(found) if processor is not None and found is not None else found
        return found.isoformat() if isinstance(found, dt.datetime) else found

    return json.dumps([{name: value(name, row) for name in columns} for row in rows])


def json_rows(rows: Sequence[Mapping], columns: Mapping[str, TypeEngine], name: str = "batch") -> FromClause:
    """`rows` as a FROM clause with one column per entry of `columns` (name: type), in their order."""
    dialect = db.session.get_bind().dialect
    payload = literal(_spelled(rows, columns, dialect), String())
    if dialect.name == "postgresql":
        return (func.json_to_recordset(cast(payload, JSON))
                .table_valued(*(column(key, type_) for key, type_ in columns.items()))
                .render_derived(name=name, with_types=True))
    each = func.json_each(payload).table_valued("value").alias(f"{name}_each")
    return select(*(func.json_extract(each.c.value, f"$.{key}").label(key) for key in columns)).subquery(name)
