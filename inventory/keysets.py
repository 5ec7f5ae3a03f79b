"""`among(column, subquery)`: rows whose key is in a small computed set, looked up by index on PostgreSQL.

Written as `column IN (subquery)`, the set is a join to PostgreSQL, and its plan follows its guess
of the set's size: a SKU with a long history of holds made it guess thousands, and it then read a
store's stock rows or a table's lines whole to join them. `column = ANY(ARRAY(subquery))` is run
first, once, and the outer table is then probed by index for each key, whatever the guess. SQLite
gets the plain IN, which it already runs that way.
"""

from __future__ import annotations

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import NullType


class among(ColumnElement):  # noqa: N801 - used like and_(), or_()
    inherit_cache = True
    type = NullType()  # a condition, not a value: SQLite would compare a Boolean to 1
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("subquery", InternalTraversal.dp_clauseelement)]

    def __init__(self, column, subquery):
        self.column, self.subquery = column, subquery


@compiles(among)
def _in(element, compiler, **kw):
    return compiler.process(element.column.in_(element.subquery), **kw)


@compiles(among, "postgresql")
def _any_array(element, compiler, **kw):
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY(ARRAY({compiler.process(element.subquery, asfrom=False, **kw)}))"
