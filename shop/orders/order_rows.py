"""A new order and its lines written with Core, and handed to the session as loaded.

The unit of work cost more Python than the INSERTs it sent. On PostgreSQL the order and its lines are
one statement (the order's INSERT a data-modifying WITH query, the lines inserted from arrays, one
per column); elsewhere two INSERTs. Either way every column is given (the model's Python defaults
filled in as a flush would: `with_defaults`), so the ORM objects made from the values have every
attribute. tests/integration/test_appends_agree.py compares every row of both paths with the
ORM's unit of work.
"""

from __future__ import annotations

from sqlalchemy import bindparam, func, insert, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import make_transient_to_detached

from shop.core.extensions import db, with_defaults
from shop.core.plans import one_statement, prepared
from shop.orders.models import Order, OrderLine

_ORDERS, _LINES = Order.__table__, OrderLine.__table__
_INSERT_ORDER = insert(_ORDERS).returning(_ORDERS.c.id)
_INSERT_LINES = insert(_LINES).returning(_LINES.c.id, sort_by_parameter_order=True)


def _one_statement():
    """WITH new_order AS (INSERT INTO orders ... RETURNING id) INSERT INTO order_lines SELECT
    new_order.id, ... FROM new_order, unnest(<one array per column>): the lines in the arrays'
    order, so their ids rise in the order given, as the two INSERTs number them."""
    order = insert(_ORDERS).values({column: bindparam(f"o_{column.key}", type_=column.type)
                                    for column in _ORDERS.c if not column.primary_key})
    order = order.returning(_ORDERS.c.id).cte("new_order")
    columns = [column for column in _LINES.c if column.key not in ("id", "order_id")]
    rows = func.unnest(*[bindparam(f"l_{column.key}", type_=ARRAY(column.type)) for column in columns]) \
        .table_valued(*[column.key for column in columns]).render_derived()
    lines = select(order.c.id, *[rows.c[column.key] for column in columns]).select_from(order.join(rows, true()))
    return (insert(_LINES).from_select([_LINES.c.order_id, *columns], lines)
            .returning(_LINES.c.id, _LINES.c.order_id).add_cte(order))


_ORDER_WITH_LINES = _one_statement()


def write(order: dict, lines: list[dict]) -> Order:
    """Insert the order (its columns in `order`) and its lines (theirs, but `order_id`, in `lines`:
    at least one), and return the order as if loaded, its lines in `lines`' order."""
    order = with_defaults(_ORDERS, order)
    lines = [with_defaults(_LINES, line) for line in lines]
    with prepared(db.session):  # plain INSERTs: nothing in their plans can go stale
        if one_statement():
            params = {f"o_{key}": value for key, value in order.items()}
            params |= {f"l_{key}": [line[key] for line in lines] for key in lines[0] if key != "order_id"}
            written = db.session.execute(_ORDER_WITH_LINES, params).all()
            order_id, line_ids = written[0].order_id, sorted(row.id for row in written)
        else:
            order_id = db.session.execute(_INSERT_ORDER, order).scalar_one()
            line_ids = db.session.execute(_INSERT_LINES, [{**line, "order_id": order_id} for line in lines]) \
                .scalars().all()
    loaded = Order(**{**order, "id": order_id})
    loaded.lines = [OrderLine(**{**line, "id": line_id, "order_id": order_id})
                    for line, line_id in zip(lines, line_ids, strict=True)]
    for obj in (loaded, *loaded.lines):
        make_transient_to_detached(obj)
    db.session.add(loaded)
    return loaded
