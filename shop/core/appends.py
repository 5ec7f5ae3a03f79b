"""Writes whose results nothing reads, sent together: one statement on PostgreSQL instead of one each.

A checkout ends with rows nobody reads back before the commit (the cart's and the order's events,
the "placed" message) and its stored reply: a round trip each, and on this 2-core machine a round
trip costs as much CPU in SQLAlchemy and PostgreSQL as the rest of the work. Inside `together()`,
`write(statement, values)` is queued and the block's end sends every queued write: on PostgreSQL as
one statement (each write a data-modifying WITH query of the last), elsewhere one by one, in the
order queued. Outside a block `write` runs at once, as `db.session.execute(statement, values)`.

The write is the same either way (the same statement, the same values: each queued write's values
become its WITH query's bind parameters), which tests/integration/test_appends_agree.py checks row
by row. The combined statement is built and compiled once per shape (which statements, which
columns given), not per request: a write's statement is a module's constant, and a value its WHERE
needs is a named `bindparam` given in `values` with the columns.
What is queued is invisible to the block's own later reads, and the WITH queries of one statement
cannot see one another: queue only rows the rest of the block does not read, never two writes of
one row. One read whose answer the block does not need before its end (`read_after`: a receiver's
"is there anything to do?", or the rows a pickup's campaigns start from) may ride with them: it
becomes the statement's main query, the writes its WITH queries, and its callback runs after the
statement (what it then does, it does at once).
A leaf: imports only shop.core.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Update, bindparam
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.plans import one_statement, prepared


class _Block(list):
    """A together() block's queued writes, and at most one read to send with them (statement,
    params, the callbacks waiting on it, whether it answers every row)."""

    read: tuple | None = None


_queued: ContextVar[_Block | None] = ContextVar("omnishop_appends", default=None)


def read_after(statement, params: dict, then: Callable, *, rows: bool = False) -> None:
    """Run `statement` (a SELECT of one row; with `rows`, of any number) with `params` and call
    `then(row)` (with `rows`, `then(list of rows)`): now, or inside a `together()` block sent with
    its writes at its end and `then` called after them. Only for a read that no write of the block
    changes the answer to (it sees the tables as before them), and whose callback the rest of the
    block does not wait for. The same read asked again in the block rides once, its callbacks
    called in the order asked; a block's other read runs at once."""
    queued = _queued.get()
    read = queued.read if queued is not None else None
    if queued is not None and read is None:
        queued.read = (statement, params, [then], rows)
    elif read is not None and read[0] is statement and read[1] == params and read[3] == rows:
        read[2].append(then)
    else:
        then(_answer(db.session.execute(statement, params), rows))


def _answer(result, rows: bool):
    """A read's answer: its one row, or (`rows`) the list of them."""
    return result.all() if rows else result.one()


def write(statement, values: dict) -> None:
    """Run `statement` (an INSERT, or an UPDATE of one row by its key) with `values`, now or at the
    end of the open `together()` block. `values` gives columns, and the WHERE's named bindparams."""
    queued = _queued.get()
    if queued is None:
        db.session.execute(statement, values)
        return
    missing = _defaulted(statement.table, isinstance(statement, Update)) - values.keys()
    if missing:  # SQLAlchemy fills Python-side defaults into a statement, not into a WITH query
        raise ValueError(f"{statement.table.name}: give {sorted(missing)} (a default is not applied in WITH)")
    if isinstance(statement, Update) and _row(statement, values) in {
            _row(other, given) for other, given in queued if isinstance(other, Update)}:
        # one statement's WITH queries do not see one another: the second UPDATE of a row would be lost
        raise ValueError(f"{statement.table.name}: a second write of one row in one together() block")
    queued.append((statement, values))


def _row(statement, values: dict) -> tuple:
    """Which row an UPDATE writes: its table and its WHERE's named values."""
    columns = statement.table.c
    return statement.table.name, tuple(sorted((k, v) for k, v in values.items() if k not in columns))


@functools.cache
def _defaulted(table, update: bool) -> frozenset[str]:
    """The columns whose value SQLAlchemy would fill in from Python when they are not given."""
    return frozenset(column.key for column in table.columns
                     if (column.onupdate if update else column.default) is not None)


@contextmanager
def together() -> Iterator[None]:
    """Queue the block's writes and send them when it ends (also when it ends in a refusal that
    keeps its changes; any other error rolls the transaction back, so nothing is sent). Nested
    blocks join the outer one."""
    if _queued.get() is not None:
        yield
        return
    queued = _Block()
    token = _queued.set(queued)
    try:
        yield
    except DomainError as exc:
        if exc.keep_changes:
            _queued.reset(token)
            token = None
            _send(queued)
        raise
    finally:
        if token is not None:
            _queued.reset(token)
    _send(queued)


def _send(queued: _Block) -> None:
    read = queued.read
    if not queued and read is None:
        return
    if not one_statement() or not queued:
        for statement, values in queued:
            db.session.execute(statement, values)
        if read is not None:
            _call(read[2], _answer(db.session.execute(read[0], read[1]), read[3]))
        return
    params = {f"w{n}_{key}": value for n, (_, values) in enumerate(queued) for key, value in values.items()}
    shape = tuple((statement, tuple(values)) for statement, values in queued)
    with prepared(db.session):  # the same writes every checkout: plain INSERTs and a key UPDATE
        if read is None:
            db.session.execute(_combined(shape), params)
            return
        read_params = {f"r_{key}": value for key, value in read[1].items()}
        answer = _answer(db.session.execute(_combined(shape, read[0], tuple(read[1])), {**params, **read_params}),
                         read[3])
    _call(read[2], answer)


def _call(thens: list[Callable], answer) -> None:
    for then in thens:
        then(answer)


@functools.lru_cache(maxsize=64)
def _combined(shape: tuple, read=None, read_keys: tuple = ()) -> object:
    """The writes of `shape` ((statement, keys given) each) as one statement, write n's values bound
    as `w<n>_<key>`, the main query the last write or `read` (its parameters `read_keys` bound as
    `r_<key>`: a parameter named as a column would become a SET of an UPDATE among the writes).
    PostgreSQL runs the main statement, then the WITH queries it does not read, the last listed
    first (its docs leave the order open; test_appends_agree holds it): listed in reverse, rows of
    one table get their ids in the order they were queued, as one by one."""
    writes = [_bound(statement, keys, n) for n, (statement, keys) in enumerate(shape)]
    *first, last = writes if read is None else [*writes, _renamed(read, set(read_keys), "r_")]
    ctes = [write.cte(f"w{n}") for n, write in enumerate(first)]
    return last.add_cte(*reversed(ctes)) if ctes else last


def _bound(statement, keys: tuple, n: int):
    """`statement` with the given columns as bind parameters and its WHERE's own ones renamed, all
    prefixed `w<n>_` (one statement's queries cannot share a parameter's name)."""
    columns = statement.table.c
    where = {key for key in keys if key not in columns}
    if where:
        statement = _renamed(statement, where, f"w{n}_")
    return statement.values({columns[key]: bindparam(f"w{n}_{key}", type_=columns[key].type)
                             for key in keys if key in columns})


def _renamed(statement, keys: set, prefix: str):
    """`statement` with its named bind parameters `keys` renamed `prefix` + name."""
    def renamed(element, **_):
        if isinstance(element, BindParameter) and element.key in keys:
            return bindparam(prefix + element.key, type_=element.type)
        return None

    return visitors.replacement_traverse(statement, {}, renamed)
