"""Keyset pagination, the one way every list pages: opaque cursors, MAX_PAGE_SIZE, the next link.

A page is the items after the cursor's key in the list's order, never an offset, so an item
inserted or removed between two requests neither repeats nor hides another. A cursor carries the
key of the last item given out (a JSON scalar for a one-column key, else a list), base64-encoded.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import current_app, request
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import TypeDecorator, and_, or_

from shop.core.errors import DomainError
from shop.core.extensions import db

MAX_SQL_INT = 2**63

PAGE_HEADERS = {
    "Link": {"description": 'The next page: `<URL>; rel="next"`; absent on the last page.',
             "schema": {"type": "string"}},
    "X-Next-Cursor": {"description": "The `cursor` of the next page; absent on the last page.",
                      "schema": {"type": "string"}},
}


def _within_page_size(value: int) -> None:
    most = current_app.config["MAX_PAGE_SIZE"]
    if not 1 <= value <= most:
        raise ValidationError(f"Must be between 1 and {most} (MAX_PAGE_SIZE).")


class PageLimit(fields.Integer):
    """The `limit` query argument of a list: 1 to MAX_PAGE_SIZE as configured when the request is
    read (a 422 beyond); the spec shows the configured maximum (shop.core.http reads `config_maximum`)."""

    config_maximum = "MAX_PAGE_SIZE"

    def __init__(self, **kwargs):
        super().__init__(validate=_within_page_size, **kwargs)


def page_limit(default: int = 50) -> PageLimit:
    return PageLimit(load_default=default, metadata={"minimum": 1, "description": "Items per page."})


class PageArgsSchema(Schema):
    """`limit` and `cursor`: every list's query schema inherits them (and may change the default limit)."""

    limit = page_limit()
    cursor = fields.String(validate=validate.Length(1, 500),
                           metadata={"description": "From `X-Next-Cursor` (or `next_cursor`) of the page before."})


@dataclass
class Page:
    items: list
    next_cursor: str | None
    limit: int

    def as_dict(self) -> dict:
        return {"items": self.items, "next_cursor": self.next_cursor}

    @property
    def headers(self) -> dict[str, str]:
        """`Link: <...>; rel="next"` and `X-Next-Cursor` (none on the last page): the request again,
        with the next cursor and the limit in force."""
        if self.next_cursor is None:
            return {}
        args = [(k, v) for k, v in request.args.items(multi=True) if k not in ("cursor", "limit")]
        query = urlencode([*args, ("limit", self.limit), ("cursor", self.next_cursor)])
        return {"Link": f'<{request.script_root}{request.path}?{query}>; rel="next"',
                "X-Next-Cursor": self.next_cursor}


def _encode(key: tuple) -> str:
    values = [v.isoformat() if isinstance(v, dt.datetime) else v for v in key]
    payload = values[0] if len(values) == 1 else values
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _invalid() -> DomainError:
    return DomainError("invalid_cursor", "This cursor is not one we gave out.")


def _typed(value: Any, kind: type):
    if isinstance(value, bool):
        raise _invalid()
    if kind is dt.datetime and isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise _invalid() from None
        if value.tzinfo is None:
            raise _invalid()
        return value
    if kind is float and isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    if kind is int and isinstance(value, int) and abs(value) < MAX_SQL_INT:
        return value
    if kind is str and isinstance(value, str):
        return value
    raise _invalid()


def decode_cursor(token: str | None, kinds: Sequence[type]) -> tuple | None:
    """The key a cursor carries, each part checked to be of its kind; a 422 for anything else."""
    if token is None:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise _invalid() from exc
    values = [value] if len(kinds) == 1 else value
    if not isinstance(values, list) or len(values) != len(kinds):
        raise _invalid()
    return tuple(_typed(v, kind) for v, kind in zip(values, kinds, strict=True))


def _page(items: list, limit: int, key: Callable[[Any], tuple]) -> Page:
    """Items fetched with one more than the limit: the extra one says whether a next page exists."""
    more = len(items) > limit
    items = items[:limit]
    return Page(items, _encode(key(items[-1])) if more else None, limit)


def _python_type(column) -> type:
    kind = column.type
    return (kind.impl_instance if isinstance(kind, TypeDecorator) else kind).python_type


def _after(columns: Sequence, values: tuple, descending: bool):
    """(a, b) > (x, y) spelled out, so each comparison binds with its column's type on any database."""
    clauses = []
    for i, (column, value) in enumerate(zip(columns, values, strict=True)):
        beyond = column < value if descending else column > value
        clauses.append(and_(*(c == v for c, v in zip(columns[:i], values[:i], strict=True)), beyond))
    return or_(*clauses)


def keyset(stmt, order: Sequence, *, limit: int, cursor: str | None, descending: bool = False) -> Page:
    """One page of an ORM select ordered by `order` (mapped columns ending in a unique one), after
    the cursor's key; the statement must not be ordered already. `limit` comes checked (PageLimit)."""
    after = decode_cursor(cursor, [_python_type(column) for column in order])
    if after is not None:
        stmt = stmt.where(_after(order, after, descending))
    stmt = stmt.order_by(*(column.desc() if descending else column for column in order)).limit(limit + 1)
    return _page(list(db.session.scalars(stmt)), limit,
                 key=lambda item: tuple(getattr(item, column.key) for column in order))


def keyset_in_memory(items: list, key: Callable[[Any], tuple], kinds: Sequence[type], *, limit: int,
                     cursor: str | None) -> Page:
    """The same pages over a list sorted in Python by `key` (ascending, unique), for lists whose
    order or filter is computed (stores by distance, open now)."""
    after = decode_cursor(cursor, kinds)
    if after is not None:
        items = [item for item in items if key(item) > after]
    return _page(items[: limit + 1], limit, key)
