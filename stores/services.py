"""Store services: create, update, look up, and find stores near a point. Never commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload, selectinload

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


# The store with its weekly hours and dated exceptions in one statement (a checkout's promised time
# reads both): the two collections are joined side by side, so it returns hours x exceptions rows
# (7 x the store's exceptions at most; 7 for a store with none), instead of three round trips.
_WITH_HOURS = (select(Store).where(Store.id == bindparam("store_id"))
               .options(joinedload(Store.hours), joinedload(Store.exceptions)))


def get_store(store_id: int, *, hours: bool = False) -> Store:
    """The store, or 404; `hours=True` loads its opening hours and exceptions in the same statement."""
    if hours:
        with prepared(db.session):  # by the store's key: its plan cannot go stale
            store = db.session.execute(_WITH_HOURS, {"store_id": store_id}).unique().scalar_one_or_none()
    else:
        store = db.session.get(Store, store_id)
    if store is None:
        raise DomainError("store_not_found", f"No store with id {store_id}.")
    return store


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
