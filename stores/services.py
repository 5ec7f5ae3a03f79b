"""Store services: create, update, look up, and find stores near a point. Never commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import ARRAY, Date, Integer, Time, bindparam, func, select, true
from sqlalchemy.orm import make_transient_to_detached, selectinload
from sqlalchemy.orm.util import identity_key

from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.pagination import Page, keyset_in_memory
from shop.core.plans import prepared
from stores.geo import distance_km
from stores.hours import OpenState, open_state
from stores.models import OpeningException, OpeningHours, Store

DEFAULT_RADIUS_KM = 50.0
T = TypeVar("T")


@dataclass
class StoreView:
    """A store as a reader sees it: its own fields plus distance and open state at `now`."""

    store: Store
    state: OpenState
    distance_km: float | None = None

    def __getattr__(self, name):
        return getattr(self.store, name)

    @property
    def is_open_now(self) -> bool:
        return self.state.is_open_now

    @property
    def opens_at(self):
        return self.state.opens_at

    @property
    def closes_at(self):
        return self.state.closes_at


# The store with its weekly hours and dated exceptions in one Core statement (a checkout's promised
# time reads both): the two are joined side by side, so it returns hours x exceptions rows (7 x the
# store's exceptions at most; 7 for a store with none). Core rows, not the ORM's eager loads of two
# collections: those cost a checkout more Python than the round trip.
_STORES, _HOURS, _EXCEPTIONS = Store.__table__, OpeningHours.__table__, OpeningException.__table__
_WITH_HOURS = (
    select(*_STORES.c, _HOURS.c.weekday.label("h_weekday"), _HOURS.c.opens.label("h_opens"),
           _HOURS.c.closes.label("h_closes"), _EXCEPTIONS.c.date.label("x_date"),
           _EXCEPTIONS.c.opens.label("x_opens"), _EXCEPTIONS.c.closes.label("x_closes"))
    .select_from(_STORES.outerjoin(_HOURS, _HOURS.c.store_id == _STORES.c.id)
                 .outerjoin(_EXCEPTIONS, _EXCEPTIONS.c.store_id == _STORES.c.id))
    .where(_STORES.c.id == bindparam("store_id")))


@dataclass(frozen=True)
class Span:
    """A weekly span or a dated exception as `hours.periods` reads them (weekday or date, opens, closes)."""

    weekday: int | None
    date: dt.date | None
    opens: dt.time | None
    closes: dt.time | None


@dataclass
class StoreHours:
    """A store (the session's object) with its weekly hours and dated exceptions as plain spans:
    what `hours.open_state` and a promised time read."""

    store: Store
    hours: list[Span]
    exceptions: list[Span]

    def __getattr__(self, name):
        return getattr(self.store, name)


def get_store(store_id: int) -> Store:
    """The store, or 404."""
    store = db.session.get(Store, store_id)
    if store is None:
        raise DomainError("store_not_found", f"No store with id {store_id}.")
    return store


def with_hours(store_id: int) -> StoreHours:
    """The store with its opening hours and exceptions, in one statement, or 404 (any database:
    the general path of `joined_with_hours`)."""
    session = db.session()
    with prepared(session):  # by the store's key: its plan cannot go stale
        rows = session.connection().execute(_WITH_HOURS, {"store_id": store_id}).all()
    if not rows:
        raise DomainError("store_not_found", f"No store with id {store_id}.")
    hours = {row.h_weekday: Span(row.h_weekday, None, row.h_opens, row.h_closes)
             for row in rows if row.h_weekday is not None}
    exceptions = {row.x_date: Span(None, row.x_date, row.x_opens, row.x_closes)
                  for row in rows if row.x_date is not None}
    return _store_hours(rows[0]._mapping, lambda column: column, list(hours.values()), list(exceptions.values()))


def _store_hours(mapping, key, hours: list[Span], exceptions: list[Span]) -> StoreHours:
    """The StoreHours of a read's row (`key(column)` names each store column in `mapping`): the
    store is the session's object, made as loaded from the row when the session does not hold it
    yet, so a later `session.get` or `order.store` reads no row again."""
    session = db.session()
    store = session.identity_map.get(identity_key(Store, mapping[key(_STORES.c.id)]))
    if store is None:
        store = Store(**{column.key: mapping[key(column)] for column in _STORES.c})
        make_transient_to_detached(store)
        session.add(store)
    return StoreHours(store, hours, exceptions)


def _array(column, table, type_):
    """The store's values of `column` (of its hours or exceptions) as one PostgreSQL array, in
    the table's key order (weekday, date), so the spans' arrays line up with each other."""
    order = table.c.weekday if table is _HOURS else table.c.date
    return func.array(select(column).where(table.c.store_id == _STORES.c.id).order_by(order).scalar_subquery(),
                      type_=ARRAY(type_))


_FOLDED = (*(column.label(f"store_{column.key}") for column in _STORES.c),
           _array(_HOURS.c.weekday, _HOURS, Integer).label("store_h_weekday"),
           _array(_HOURS.c.opens, _HOURS, Time).label("store_h_opens"),
           _array(_HOURS.c.closes, _HOURS, Time).label("store_h_closes"),
           _array(_EXCEPTIONS.c.date, _EXCEPTIONS, Date).label("store_x_date"),
           _array(_EXCEPTIONS.c.opens, _EXCEPTIONS, Time).label("store_x_opens"),
           _array(_EXCEPTIONS.c.closes, _EXCEPTIONS, Time).label("store_x_closes"))


def joined_with_hours(query, store_id):
    """`query` (PostgreSQL only) with the store `store_id` names (a column of a one-row FROM of
    `query`, as a key UPDATE's RETURNING) and its hours and exceptions as typed arrays (psycopg
    hands back lists of int, time and date) on each of its rows, NULLs when there is no such
    store; `folded(row)` makes its StoreHours. `with_hours` folded into a statement that already
    knows the store (a checkout's convert), to save a round trip; tests/integration/
    test_store_reads_agree.py holds the two to the same answer. A MATERIALIZED WITH query, so the
    store is read once, not once per row of `query` (a cart's lines: measured in
    docs/performance.md)."""
    store = (select(*_FOLDED).where(_STORES.c.id == select(store_id).scalar_subquery())
             .cte("pickup_store").prefix_with("MATERIALIZED"))
    return query.outerjoin(store, true()).add_columns(*store.c)


def folded(row) -> StoreHours | None:
    """The StoreHours of a row of a `joined_with_hours` query, None when it joined no store."""
    mapping = row._mapping
    if mapping["store_id"] is None:
        return None
    hours = [Span(weekday, None, opens, closes) for weekday, opens, closes in
             zip(mapping["store_h_weekday"], mapping["store_h_opens"], mapping["store_h_closes"], strict=True)]
    exceptions = [Span(None, date, opens, closes) for date, opens, closes in
                  zip(mapping["store_x_date"], mapping["store_x_opens"], mapping["store_x_closes"], strict=True)]
    return _store_hours(mapping, lambda column: f"store_{column.key}", hours, exceptions)


def label(store_id: int) -> dict | None:
    """The store's id, code and name, or None (the `store_label` port: notifications asks it)."""
    store = db.session.get(Store, store_id)
    return None if store is None else {"id": store.id, "code": store.code, "name": store.name}


def view(store: Store, now: dt.datetime, distance: float | None = None) -> StoreView:
    return StoreView(store, open_state(store, now), None if distance is None else round(distance, 2))


def _apply(store: Store, data: dict) -> None:
    for key, value in data.items():
        if key == "hours":
            store.hours = [OpeningHours(**h) for h in value]
        elif key == "exceptions":
            store.exceptions = [OpeningException(**e) for e in value]
        else:
            setattr(store, key, value)


def _ensure_code_free(code: str) -> None:
    if db.session.scalar(db.select(Store.id).where(Store.code == code)) is not None:
        raise DomainError("store_code_taken", f"Store code {code} is in use.")


def create_store(data: dict) -> Store:
    _ensure_code_free(data["code"])
    store = Store()
    _apply(store, data)
    db.session.add(store)
    db.session.flush()
    return store


def update_store(store: Store, data: dict) -> Store:
    if "code" in data and data["code"] != store.code:
        _ensure_code_free(data["code"])
    if "hours" in data:
        store.hours.clear()
        db.session.flush()  # delete the old spans before the unique (store, weekday) ones arrive
    if "exceptions" in data:
        store.exceptions.clear()
        db.session.flush()
    _apply(store, data)
    db.session.flush()
    return store


def within(items: Sequence[T], near: tuple[float, float] | None,
           radius_km: float | None) -> list[tuple[T, float | None]]:
    """Items with a store's `latitude` and `longitude` (stores, or rows that carry them) within
    `radius_km` of `near`, nearest first (ties keep the given order), each with its distance; with
    no `near`, all of them in the given order. The one rule of "near" for every store list."""
    if near is None:
        return [(item, None) for item in items]
    radius = radius_km or DEFAULT_RADIUS_KM
    found = [(item, distance_km(near[0], near[1], item.latitude, item.longitude)) for item in items]
    return sorted(((item, d) for item, d in found if d <= radius), key=lambda pair: round(pair[1], 2))


def find_stores(
    now: dt.datetime,
    near: tuple[float, float] | None = None,
    radius_km: float | None = None,
    open_now: bool | None = None,
    limit: int | None = None,
) -> list[StoreView]:
    """Stores sorted by great-circle distance from `near` (or by code), filtered by radius and open state."""
    stmt = db.select(Store).options(selectinload(Store.hours), selectinload(Store.exceptions))
    stores = db.session.scalars(stmt.order_by(Store.code)).all()
    views = [view(store, now, distance) for store, distance in within(stores, near, radius_km)]
    if open_now is not None:
        views = [item for item in views if item.is_open_now == open_now]
    return views[:limit]


def list_stores(now: dt.datetime, near: tuple[float, float] | None, radius_km: float | None,
                open_now: bool | None, limit: int, cursor: str | None) -> Page:
    """One page of find_stores: by (distance, code) from `near`, else by code. The filters and the
    distance are computed in Python, so the page is cut from the list (stores are few)."""
    views = find_stores(now, near, radius_km, open_now)
    if near is None:
        return keyset_in_memory(views, lambda v: (v.code,), (str,), limit=limit, cursor=cursor)
    return keyset_in_memory(views, lambda v: (v.distance_km, v.code), (float, str), limit=limit, cursor=cursor)
