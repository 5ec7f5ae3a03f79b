"""Reservations: promise units at one store all-or-nothing, then release, consume or let them expire.

Lock order everywhere: stock rows (by product id, inventory.stock.lock_rows), then reservation
rows through a conditional UPDATE of their status. Expired reservations never count as reserved:
readers subtract them (inventory.stock.expired_units) and writers release them before they check.
On PostgreSQL a hold is first tried as one statement (inventory.hold_statement), which grants only
what this full path would grant and otherwise writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import bindparam, delete, insert, select, union, update
from sqlalchemy.orm import aliased, lazyload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from inventory import catalog, hold_statement, ledger
from inventory.keysets import among
from inventory.models import Product, Reservation, ReservationLine, Stock
from inventory.stock import available, expired_units, lapsed, lock_rows, run_locking
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from stores import services as stores


def _claim(reservation: Reservation, new_status: str) -> bool:
    """Move an active reservation to `new_status`; False if someone else already moved it."""
    result = db.session.execute(
        update(Reservation)
        .where(Reservation.id == reservation.id, Reservation.status == "active")
        .values(status=new_status)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        set_committed_value(reservation, "status", new_status)
        db.session.execute(update(ReservationLine).where(ReservationLine.reservation_id == reservation.id)
                           .values(live=False).execution_options(synchronize_session=False))
        for line in reservation.lines:
            set_committed_value(line, "live", False)
        return True
    db.session.refresh(reservation, ["status"])
    return False


def _release_lines(reservation: Reservation, stocks, reason_source: str, actor_id=None) -> None:
    ledger.apply_many([(stocks[line.product_id], 0, -line.quantity) for line in reservation.lines],
                      reason="release", source=reason_source, actor_id=actor_id)


def _lapsed_holds_touching(store_id, product_ids, now):
    """Ids of expired, unreleased holds at the store with a line for one of these products."""
    return (select(ReservationLine.reservation_id)
            .where(ReservationLine.store_id == store_id, ReservationLine.product_id.in_(product_ids),
                   lapsed(ReservationLine, now)))


def _expired_touching(store_id: int, product_ids, now: dt.datetime) -> list[Reservation]:
    return list(db.session.scalars(
        select(Reservation).where(among(Reservation.id, _lapsed_holds_touching(store_id, list(product_ids), now)))))


def _build_hold_lock():
    """The wanted rows and those of expired holds touching them, as one set of keys, each row
    then found by primary key. (Written as `IN (ids) OR IN (subquery)` it read every stock row of
    the store: 136 ms for each refused hold on a 200,000-SKU store.)"""
    store_id, ids, now = bindparam("store_id"), bindparam("ids", expanding=True), bindparam("now")
    theirs = aliased(ReservationLine)
    touching = select(theirs.product_id).where(among(theirs.reservation_id, _lapsed_holds_touching(store_id, ids, now)))
    keys = union(select(Product.id).where(Product.id.in_(ids)), touching)
    return (
        select(Stock, expired_units(Stock.store_id, Stock.product_id, now))
        .where(Stock.store_id == store_id, among(Stock.product_id, keys))
        .order_by(Stock.product_id)
        .options(lazyload(Stock.product))
        .with_for_update(of=Stock)
        .execution_options(populate_existing=True)
    )


_HOLD_LOCK = _build_hold_lock()  # built once: every hold and checkout runs it


def _lock_for_hold(store_id: int, product_ids, now: dt.datetime) -> tuple[dict[int, Stock], bool]:
    """Lock, in one statement and in key order, the wanted stock rows plus those of expired holds
    touching them (releasing such a hold changes all its rows); True if any expired hold is there.

    The expired figures come from the statement's snapshot: zero stays zero (holds only leave that
    set), and a non-zero figure sends the caller to look again now that the rows are locked.
    """
    rows = run_locking(_HOLD_LOCK, store_id, product_ids, now=now)
    return {row.product_id: row for row, _ in rows}, any(units for _, units in rows)


def _expire_locked(reservations: list[Reservation], stocks) -> int:
    done = 0
    for reservation in reservations:
        if any(line.product_id not in stocks for line in reservation.lines):
            continue  # its rows are not locked here: the sweep or the next writer releases it
        if _claim(reservation, "expired"):
            _release_lines(reservation, stocks, f"reservation:{reservation.id}:expired")
            done += 1
    return done


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
    """On PostgreSQL the common hold is one statement (inventory.hold_statement); None when it
    declined (or on SQLite), and the full path decides."""
    if db.session.get_bind().dialect.name != "postgresql":
        return None
    db.session.flush()  # pending ORM changes go first, as on the full path
    held = hold_statement.try_hold(store_id, quantities, reference, now, expires_at, actor_id,
                                   active_only=active_only)
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
        _expire_locked(_expired_touching(store_id, wanted, now), stocks)
        short = _short(wanted, stocks)
    if short:
        # Nothing is reserved, even if the caller commits; the expiries above stand (they are
        # right on their own), and the caller's rollback would only leave them to the sweep.
        _discard(reservation)
        raise DomainError(
            "insufficient_stock",
            "Not enough stock for: " + ", ".join(s["sku"] for s in short) + ".",
            short=short,
        )
    ledger.apply_many([(stocks[pid], 0, wanted[pid][1]) for pid in sorted(wanted)], reason="reservation",
                      source=f"reservation:{reservation.id}", actor_id=actor_id)
    return reservation


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


def get_reservation(reservation_id: int) -> Reservation:
    reservation = db.session.get(Reservation, reservation_id)
    if reservation is None:
        raise DomainError("reservation_not_found", f"No reservation {reservation_id}.")
    return reservation


def _not_active(reservation: Reservation) -> DomainError:
    return DomainError("reservation_not_active",
                       f"Reservation {reservation.id} is {reservation.status}.",
                       status_now=reservation.status)


def release(reservation: Reservation, actor_id: int | None = None) -> Reservation:
    """Give the units back; an expired reservation counts as released already."""
    stocks = lock_rows(reservation.store_id, [line.product_id for line in reservation.lines])
    if _claim(reservation, "released"):
        _release_lines(reservation, stocks, f"reservation:{reservation.id}", actor_id)
    elif reservation.status not in ("released", "expired"):
        raise _not_active(reservation)
    return reservation


def consume(
    reservation: Reservation, taken: Mapping[int, int] | None = None, actor_id: int | None = None
) -> Reservation:
    """Hand over: take `taken[product_id]` units (default all) out of stock, release the rest."""
    stocks = lock_rows(reservation.store_id, [line.product_id for line in reservation.lines])
    if reservation.expires_at <= clock.now() and reservation.status == "active":
        _expire_locked([reservation], stocks)
    if not _claim(reservation, "consumed"):
        raise _not_active(reservation)
    source = f"reservation:{reservation.id}"
    for line in reservation.lines:
        qty = line.quantity if taken is None else min(line.quantity, taken.get(line.product_id, 0))
        if qty:
            ledger.apply(stocks[line.product_id], reason="pickup", delta_on_hand=-qty,
                         delta_reserved=-qty, source=source, actor_id=actor_id)
        if line.quantity > qty:
            ledger.apply(stocks[line.product_id], reason="release",
                         delta_reserved=-(line.quantity - qty), source=source, actor_id=actor_id)
    return reservation


def release_expired(limit: int = 500) -> int:
    """One batch of the sweep: release up to `limit` reservations past their expiry, oldest first.
    Safe to run twice or on two nodes (each reservation is claimed once)."""
    return _sweep_batch(limit)[1]


def _sweep_batch(limit: int) -> tuple[int, int]:
    """(holds found past expiry, holds released); by expiry, so the index on (status, expires_at)
    hands over the first `limit` without sorting the whole backlog."""
    now = clock.now()
    candidates = list(
        db.session.scalars(
            select(Reservation)
            .where(Reservation.status == "active", Reservation.expires_at <= now)
            .order_by(Reservation.expires_at)
            .limit(limit)
        )
    )
    done = 0
    by_store: dict[int, list[Reservation]] = {}
    for r in candidates:
        by_store.setdefault(r.store_id, []).append(r)
    for store_id in sorted(by_store):  # stores in key order too: two sweeps never deadlock
        group = by_store[store_id]
        stocks = lock_rows(store_id, {line.product_id for r in group for line in r.lines})
        done += _expire_locked(group, stocks)
    return len(candidates), done


def extend(reservation: Reservation, until: dt.datetime) -> bool:
    """Keep an active, unexpired reservation until `until`; False if it already lapsed."""
    if reservation.status != "active" or reservation.expires_at <= clock.now():
        return False
    reservation.expires_at = max(reservation.expires_at, until)
    for line in reservation.lines:
        line.expires_at = reservation.expires_at
    return True


def release_units(reservation: Reservation, product_id: int, units: int, actor_id: int | None = None) -> None:
    """Give back part of one line (a short pick): the reservation keeps the rest."""
    stocks = lock_rows(reservation.store_id, [product_id])
    db.session.refresh(reservation, ["status"])
    if reservation.status != "active":
        raise _not_active(reservation)
    line = next(line for line in reservation.lines if line.product_id == product_id)
    if units <= 0 or units > line.quantity:
        raise DomainError("units_not_reserved", f"Only {line.quantity} units are reserved.")
    ledger.apply(stocks[product_id], reason="release", delta_reserved=-units,
                 source=f"reservation:{reservation.id}:short", actor_id=actor_id)
    if units == line.quantity:
        reservation.lines.remove(line)
    else:
        line.quantity -= units


def regain_units(reservation: Reservation, product: Product, units: int, actor_id: int | None = None) -> None:
    """Take back units a short pick gave up (the pick corrected before ready), if still free:
    a 409 `insufficient_stock` otherwise. Same lock order and free-units rule as a hold."""
    stocks = lock_rows(reservation.store_id, [product.id])
    db.session.refresh(reservation, ["status"])
    if reservation.status != "active" or reservation.expires_at <= clock.now():
        raise _not_active(reservation)
    stock = stocks[product.id]
    free = available(stock.on_hand, stock.reserved, stock.safety_stock)
    if units > free:
        raise DomainError("insufficient_stock", f"Only {free} of {product.sku} are free at the store now.",
                          short=[{"sku": product.sku, "requested": units, "available": free}])
    ledger.apply(stock, reason="reservation", delta_reserved=units,
                 source=f"reservation:{reservation.id}:regained", actor_id=actor_id)
    line = next((line for line in reservation.lines if line.product_id == product.id), None)
    if line is None:
        reservation.lines.append(ReservationLine(product_id=product.id, quantity=units, live=True,
                                                 store_id=reservation.store_id, expires_at=reservation.expires_at))
    else:
        line.quantity += units


def reserved_units(reservation: Reservation | None, product_id: int) -> int:
    if reservation is None or reservation.status != "active":
        return 0
    return sum(line.quantity for line in reservation.lines if line.product_id == product_id)
