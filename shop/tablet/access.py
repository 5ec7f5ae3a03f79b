"""Who is at the counter: a signed-in clerk of this store (or an admin), and only this store's orders.

Every tablet view starts here, so a clerk sees and acts on their own store only, on the page and
through every call it makes (the same check as the staff API: shop.accounts.auth.is_staff_of).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from shop.accounts import auth, sessions
from shop.accounts.actors import Actor
from shop.accounts.models import User
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.orders import queries as orders
from shop.orders.models import Order
from stores.models import Store


@dataclass(frozen=True)
class Counter:
    """A clerk at one store's counter, as the order services want them."""

    store: Store
    user: User

    @property
    def actor(self) -> Actor:
        return Actor("staff", self.user, "store", self.store.id)


COUNTER = sessions.Area(("staff", "admin"), refusal="These pages are for store staff.",
                        prompt="Sign in to use the counter screen.")


def signed_in(*, activity: bool = True) -> User:
    """The signed-in clerk (or admin); a 401 when there is none, a 403 for marketing."""
    return sessions.require(COUNTER, activity=activity)


def store_by_code(code: str) -> Store:
    store = db.session.scalar(select(Store).where(Store.code == code))
    if store is None:
        raise DomainError("store_not_found", f"No store {code}.")
    return store


def counter(code: str, *, activity: bool = True) -> Counter:
    """The clerk at this store's counter: signed in, and staff of this store (or an admin)."""
    user = signed_in(activity=activity)
    store = store_by_code(code)
    if not auth.is_staff_of(user, store.id):
        raise DomainError("wrong_store", f"You are not staff of {store.code}.")
    return Counter(store, user)


def order_here(here: Counter, order_id: int, *, lock: bool = False) -> Order:
    """An order of this store; another store's order is as unknown as a missing one."""
    order = orders.get_order(order_id, lock=lock)
    if order.store_id != here.store.id:
        raise DomainError("order_not_found", f"No order {order_id}.")
    return order


def stores_of(user: User) -> list[Store]:
    """The stores a clerk can pick (every store for an admin)."""
    stmt = select(Store).order_by(Store.code)
    if user.role != "admin":
        stmt = stmt.where(Store.id.in_(user.store_ids))
    return list(db.session.scalars(stmt))
