"""What the counter screen shows, built from the order services: the queue in groups, one order with
its shopper (name and masked contact), and the pick list of every order being picked, by SKU.

Read-only: every change goes through shop.orders.pickup. Times are shown in the store's zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from shop.accounts.contact import mask_email, mask_phone
from shop.accounts.models import User
from shop.core.clock import clock
from shop.core.extensions import db
from shop.orders import queries as orders
from shop.orders.models import Order
from stores.models import Store

WORK = ("placed", "picking", "ready_for_pickup")  # what the counter acts on (an unpaid card order is not yet)
QUEUE_LIMIT = 200  # the oldest promises first; the screen says when there are more
GROUPS = (  # in the order the screen shows them: what is late first
    ("overdue", "Overdue"),
    ("due_today", "Due today"),
    ("new", "New"),
    ("picking", "Picking"),
    ("ready", "Ready for pickup"),
)
STATUS_WORDS = {"placed": "New", "picking": "Picking", "ready_for_pickup": "Ready", "picked_up": "Picked up",
                "cancelled": "Cancelled", "expired": "Expired", "pending_payment": "Awaiting payment"}


@dataclass
class Card:
    """One order as a line of the queue."""

    order: Order
    shopper: str
    promised: str
    status_word: str
    items: int
    at_risk: list[str]
    locked: bool


@dataclass
class Group:
    key: str
    title: str
    cards: list[Card] = field(default_factory=list)


@dataclass
class Queue:
    groups: list[Group]
    more: bool  # more orders than the screen lists
    as_of: str


def local(store: Store, when: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """"14:30" today, "Tue 14:30" on another day, in the store's zone."""
    if when is None:
        return ""
    zone = ZoneInfo(store.timezone)
    moment, today = when.astimezone(zone), (now or clock.now()).astimezone(zone).date()
    return moment.strftime("%H:%M") if moment.date() == today else moment.strftime("%a %d %b %H:%M")


def shopper_names(orders_: Sequence[Order]) -> dict[int, str]:
    """The names of the orders' customers, in one query (guests have none)."""
    ids = {o.customer_id for o in orders_ if o.customer_id is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).tuples().all())


def shopper_of(order: Order, names: dict[int, str]) -> str:
    return names.get(order.customer_id) or "Guest"


def contact_of(order: Order) -> str:
    """What the clerk checks against an ID: the masked email, and the masked phone if there is one."""
    parts = [mask_email(order.email)] if order.email else []
    if order.phone:
        parts.append(mask_phone(order.phone))
    return " · ".join(parts)


def group_of(order: Order, store: Store, now: dt.datetime) -> str:
    """Ready orders wait for the shopper; work not done is overdue past its promise, due today when
    promised later today (store's day), else new or picking."""
    if order.status == "ready_for_pickup":
        return "ready"
    if order.promised_at <= now:
        return "overdue"
    zone = ZoneInfo(store.timezone)
    if order.promised_at.astimezone(zone).date() == now.astimezone(zone).date():
        return "due_today"
    return "new" if order.status == "placed" else "picking"


def queue(store: Store) -> Queue:
    """The store's open orders, oldest promise first within each group, with their at-risk SKUs."""
    now = clock.now()
    page = orders.queue(store.id, list(WORK), QUEUE_LIMIT)
    names, at_risk = shopper_names(page.items), orders.at_risk_skus(page.items)
    groups = {key: Group(key, title) for key, title in GROUPS}
    for order in page.items:
        card = Card(order, shopper_of(order, names), local(store, order.promised_at, now),
                    STATUS_WORDS[order.status], sum(line.quantity for line in order.lines), at_risk[order.id],
                    bool(order.locked_until and order.locked_until > now))
        groups[group_of(order, store, now)].cards.append(card)
    return Queue(list(groups.values()), page.next_cursor is not None, local(store, now, now))


@dataclass
class PickRow:
    sku: str
    name: str
    to_pick: int
    orders: list[tuple[Order, int]]


def pick_list(store: Store) -> list[PickRow]:
    """Every line still to pick across the orders being picked, one row per SKU (batch picking)."""
    page = orders.queue(store.id, ["picking"], QUEUE_LIMIT)
    rows: dict[str, PickRow] = {}
    for order in page.items:
        for line in order.lines:
            if line.picked_quantity is not None:
                continue
            row = rows.setdefault(line.sku, PickRow(line.sku, line.name, 0, []))
            row.to_pick += line.quantity
            row.orders.append((order, line.quantity))
    return sorted(rows.values(), key=lambda row: row.sku)


@dataclass
class OrderView:
    order: Order
    shopper: str
    contact: str
    promised: str
    deadline: str
    status_word: str
    at_risk: list[str]
    locked_until: str | None
    all_resolved: bool
    max_attempts: int


def order_view(store: Store, order: Order) -> OrderView:
    now = clock.now()
    locked = order.locked_until if order.locked_until and order.locked_until > now else None
    return OrderView(
        order, shopper_of(order, shopper_names([order])), contact_of(order), local(store, order.promised_at, now),
        local(store, order.pickup_deadline, now), STATUS_WORDS[order.status],
        orders.at_risk_skus([order])[order.id], local(store, locked, now) if locked else None,
        all(line.picked_quantity is not None for line in order.lines),
        current_app.config["PICKUP_CODE_MAX_ATTEMPTS"],
    )


def find_by_number(store: Store, number: str) -> Order | None:
    """An order of this store by its number as the shopper reads it out (case and spaces forgiven)."""
    wanted = number.strip().upper().replace(" ", "")
    if "-" not in wanted:  # the part after the store's prefix is enough
        wanted = f"{store.code[:6].upper()}-{wanted}"
    return db.session.scalar(select(Order).where(Order.store_id == store.id, func.upper(Order.number) == wanted))
