"""Placing a hold: all-or-nothing at one store, by product (`reserve`) or by SKU (`reserve_skus`).

On PostgreSQL a hold is first tried as one statement (inventory.hold_statement), which grants only
what the full path here would grant, refuses only what it would refuse, and otherwise writes
nothing. The full path locks the stock rows in key order (inventory.stock), releases the expired
holds in the way only when a line is short, and names every short SKU.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from flask import current_app
from sqlalchemy import bindparam, delete, insert, select, union
from sqlalchemy.orm import aliased, lazyload, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from inventory import catalog, hold_statement, ledger
from inventory.expiring import expire_locked, expired_touching, lapsed_holds_touching
from inventory.keysets import among
from inventory.models import Product, Reservation, ReservationLine, Stock
from inventory.stock import available, expired_units, run_locking
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from stores import services as stores

_HOLD_LOCK = None  # _hold_lock()'s statement, once built


def _hold_lock():
    """The wanted rows and those of expired holds touching them, as one set of keys, each row
    then found by primary key. (Written as `IN (ids) OR IN (subquery)` it read every stock row of
    the store: 136 ms for each refused hold on a 200,000-SKU store.)

    Built on first use and kept (every hold and checkout runs it; building it costs ~1 ms), in
    the function every hold calls: not at import, so that a mutation test's altered statement
    is the one its tests run (docs/testing.md)."""
    global _HOLD_LOCK
    if _HOLD_LOCK is None:
        store_id, ids, now = bindparam("store_id"), bindparam("ids", expanding=True), bindparam("now")
        theirs = aliased(ReservationLine)
        touching = select(theirs.product_id).where(
            among(theirs.reservation_id, lapsed_holds_touching(store_id, ids, now)))
        keys = union(select(Product.id).where(Product.id.in_(ids)), touching)
        _HOLD_LOCK = (
            select(Stock, expired_units(Stock.store_id, Stock.product_id, now))
            .where(Stock.store_id == store_id, among(Stock.product_id, keys))
            .order_by(Stock.product_id)
            .options(lazyload(Stock.product))
            .with_for_update(of=Stock)
            .execution_options(populate_existing=True)
        )
    return _HOLD_LOCK


def _lock_for_hold(store_id: int, product_ids, now: dt.datetime) -> tuple[dict[int, Stock], bool]:
    """Lock, in one statement and in key order, the wanted stock rows plus those of expired holds
    touching them (releasing such a hold changes all its rows); True if any expired hold is there.

    The expired figures come from the statement's snapshot: zero stays zero (holds only leave that
    set), and a non-zero figure sends the caller to look again now that the rows are locked.
    """
    rows = run_locking(_hold_lock(), store_id, product_ids, now=now)
    return {row.product_id: row for row, _ in rows}, any(units for _, units in rows)


def reserve(
    store_id: int,
    quantities: Mapping[Product, int],
    reference: str,
    ttl: dt.timedelta | None = None,
    actor_id: int | None = None,
) -> Reservation:
    """Reserve every line or nothing; a 409 `insufficient_stock` lists each short SKU."""
    by_sku = {product.sku: (product, qty) for product, qty in quantities.items()}
    now, expires_at = _window(ttl)
    held = _try_statement(store_id, {sku: qty for sku, (_, qty) in by_sku.items()}, reference, now, expires_at,
                          actor_id, active_only=False)
    if held is not None:
        return _loaded(held[0], store_id, reference, now, expires_at,
                       [(by_sku[sku][0], by_sku[sku][1], line_id) for line_id, _, sku in held[1]])
    return _reserve_full(store_id, quantities, reference, now, expires_at, actor_id)


class LineToHold(Protocol):
    """A line that already knows its product (a checkout's cart line): nothing to look up."""

    product_id: int
    sku: str
    quantity: int


def reserve_lines(store_id: int, lines: Sequence[LineToHold], reference: str, ttl: dt.timedelta | None = None,
                  actor_id: int | None = None) -> int:
    """`reserve` for lines that carry their product id and SKU; the hold's id. On the one-statement
    path no Product is loaded and no ORM object made (a checkout needs only the id); the full path
    loads the products (one statement) and runs as for `reserve`."""
    now, expires_at = _window(ttl)
    held = _try_statement(store_id, {line.sku: line.quantity for line in lines}, reference, now, expires_at,
                          actor_id, active_only=False)
    if held is not None:
        return held[0]
    products = {p.id: p for p in db.session.scalars(select(Product).where(
        Product.id.in_([line.product_id for line in lines])))}
    return _reserve_full(store_id, {products[line.product_id]: line.quantity for line in lines}, reference,
                         now, expires_at, actor_id).id


@dataclass(frozen=True)
class HeldLine:
    sku: str
    quantity: int
    at_risk: bool = False


@dataclass(frozen=True)
class Held:
    """A hold as the counter sees it (ReservationSchema's fields), without ORM objects."""

    id: int
    store_id: int
    reference: str
    status: str
    expires_at: dt.datetime
    at_risk: bool
    lines: list[HeldLine]

    @classmethod
    def of(cls, r: Reservation) -> Held:
        return cls(r.id, r.store_id, r.reference, r.status, r.expires_at, r.at_risk,
                   [HeldLine(line.sku, line.quantity, line.at_risk) for line in r.lines])


def reserve_skus(
    store_id: int,
    quantities: Mapping[str, int],
    reference: str,
    ttl: dt.timedelta | None = None,
    actor_id: int | None = None,
) -> Held:
    """A hold by SKU (the counter's): as `reserve`, for active products; a 422 names unknown SKUs."""
    quantities = dict(quantities)
    now, expires_at = _window(ttl)
    held = _try_statement(store_id, quantities, reference, now, expires_at, actor_id, active_only=True)
    if held is not None:
        return Held(held[0], store_id, reference, "active", expires_at, False,
                    [HeldLine(sku, quantities[sku]) for _, _, sku in held[1]])
    products = catalog.products_by_sku(quantities, active_only=True)
    stores.get_store(store_id)  # a 404 before the hold's rows are written (else PostgreSQL's FK: a 409)
    return Held.of(_reserve_full(store_id, {products[sku]: q for sku, q in quantities.items()}, reference,
                                 now, expires_at, actor_id))


def _window(ttl: dt.timedelta | None) -> tuple[dt.datetime, dt.datetime]:
    now = clock.now()
    return now, now + (ttl or dt.timedelta(seconds=current_app.config["RESERVATION_TTL_SECONDS"]))


def _try_statement(store_id: int, quantities: dict[str, int], reference: str, now: dt.datetime,
                   expires_at: dt.datetime, actor_id: int | None, *, active_only: bool):
    """On PostgreSQL the common hold is one statement (inventory.hold_statement), and so is the
    common refusal (raised here); None when it declined (or on SQLite), and the full path decides."""
    if db.session.get_bind().dialect.name != "postgresql":
        return None
    db.session.flush()  # pending ORM changes go first, as on the full path
    held = hold_statement.try_hold(store_id, quantities, reference, now, expires_at, actor_id,
                                   active_only=active_only)
    if isinstance(held, hold_statement.Refused):
        raise _refused(held.short)
    if held is not None:
        _forget_stock(store_id, [product_id for _, product_id, _ in held[1]])
    return held


def _reserve_full(store_id: int, quantities: Mapping[Product, int], reference: str, now: dt.datetime,
                  expires_at: dt.datetime, actor_id: int | None) -> Reservation:
    """The hold statement by statement, plus what the statement leaves to it: it grants on the same
    rule (every line fits, expired holds still counted); only if a line is short does it release
    the expired holds touching these SKUs and look again (releasing them when not needed would
    leave other rows behind than the statement), and name the short SKUs.

    The hold's own rows are written before the stock rows are locked: nobody counts a hold until
    `reserved` moves, and every statement kept out of the locked stretch lets the next shopper of
    a hot SKU in sooner (under the lock: the lock, the ledger entry, the UPDATE, the commit).
    """
    wanted = {p.id: (p, q) for p, q in quantities.items()}
    reservation = _insert(store_id, reference, now, expires_at, [wanted[pid] for pid in sorted(wanted)])
    stocks, expired_found = _lock_for_hold(store_id, wanted, now)
    short = _short(wanted, stocks)
    if short and expired_found:
        expire_locked(expired_touching(store_id, wanted, now), stocks)
        short = _short(wanted, stocks)
    if short:
        # Nothing is reserved, even if the caller commits; the expiries above stand (they are
        # right on their own), and the caller's rollback would only leave them to the sweep.
        _discard(reservation)
        raise _refused(short)
    ledger.apply_many([(stocks[pid], 0, wanted[pid][1]) for pid in sorted(wanted)], reason="reservation",
                      source=f"reservation:{reservation.id}", actor_id=actor_id)
    return reservation


def _refused(short: list[dict]) -> DomainError:
    """The 409 of a hold that does not fit, naming each short line (in product order)."""
    return DomainError("insufficient_stock", "Not enough stock for: " + ", ".join(s["sku"] for s in short) + ".",
                       short=short)


def _short(wanted: dict[int, tuple[Product, int]], stocks: dict[int, Stock]) -> list[dict]:
    """The lines that do not fit, by the one free-units rule, in product order."""
    free = {pid: available(s.on_hand, s.reserved, s.safety_stock) for pid, s in stocks.items()}
    return [{"sku": product.sku, "requested": qty, "available": free[pid]}
            for pid, (product, qty) in sorted(wanted.items()) if free[pid] < qty]


_INSERT_HOLD = insert(Reservation.__table__).returning(Reservation.__table__.c.id)
_INSERT_LINES = insert(ReservationLine.__table__).returning(
    ReservationLine.__table__.c.id, sort_by_parameter_order=True)


def _insert(store_id: int, reference: str, now: dt.datetime, expires_at: dt.datetime,
            lines: list[tuple[Product, int]]) -> Reservation:
    """Write a new active hold with Core statements (the unit of work costs more than the two
    INSERTs it makes) and hand it to the session as loaded."""
    hold_id = db.session.execute(_INSERT_HOLD, {
        "store_id": store_id, "reference": reference, "status": "active", "expires_at": expires_at,
        "at_risk": False, "created_at": now}).scalar_one()
    line_ids = db.session.execute(_INSERT_LINES, [
        {"reservation_id": hold_id, "product_id": product.id, "quantity": quantity, "at_risk": False,
         "store_id": store_id, "expires_at": expires_at, "live": True}
        for product, quantity in lines]).scalars().all()
    return _loaded(hold_id, store_id, reference, now, expires_at,
                   [(product, qty, line_id) for (product, qty), line_id in zip(lines, line_ids, strict=True)])


def _loaded(hold_id: int, store_id: int, reference: str, now: dt.datetime, expires_at: dt.datetime,
            lines: list[tuple[Product, int, int]]) -> Reservation:
    """The ORM objects of a hold just written with Core, in the session as if loaded."""
    reservation = Reservation(id=hold_id, store_id=store_id, reference=reference, status="active",
                              expires_at=expires_at, at_risk=False, created_at=now)
    reservation.lines = [
        ReservationLine(id=line_id, reservation_id=hold_id, product_id=product.id, product=product,
                        quantity=quantity, at_risk=False, store_id=store_id, expires_at=expires_at, live=True)
        for product, quantity, line_id in lines
    ]
    for obj in (reservation, *reservation.lines):
        make_transient_to_detached(obj)
    db.session.add(reservation)
    return reservation


def _forget_stock(store_id: int, product_ids) -> None:
    """Stock rows this session loaded before a one-statement hold no longer show what is reserved."""
    for pid in product_ids:
        stock = db.session.identity_map.get(identity_key(Stock, (store_id, pid)))
        if stock is not None:
            db.session.expire(stock, ["reserved"])


def _discard(reservation: Reservation) -> None:
    """Take back a hold written by _insert that will not be kept."""
    db.session.execute(delete(ReservationLine.__table__).where(ReservationLine.reservation_id == reservation.id))
    db.session.execute(delete(Reservation.__table__).where(Reservation.id == reservation.id))
    for obj in (*reservation.lines, reservation):
        db.session.expunge(obj)
