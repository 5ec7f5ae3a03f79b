"""Reservations: promise units at one store all-or-nothing, then release, consume or let them expire.

Lock order everywhere: stock rows (by product id, inventory.stock.lock_rows), then reservation
rows through a conditional UPDATE of their status. Expired reservations never count as reserved:
readers subtract them (inventory.stock.expired_units) and writers release them before they check.
Placing a hold is inventory.holding (the statement, then the full path); letting one go under the
locks is inventory.expiring; the rest of a hold's life and the expiry sweep are here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.util import identity_key

from inventory import ledger
from inventory.expiring import claim, ended_at_risk, expire_locked, lock_and_claim, mark_claimed, release_lines
from inventory.holding import Held, HeldLine, reserve, reserve_lines, reserve_skus
from inventory.models import Product, Reservation, ReservationLine
from inventory.stock import available, lock_rows
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.plans import prepared

# Placing a hold lives in inventory.holding; callers know holds by this module's name.
__all__ = ["Held", "HeldLine", "consume", "consume_hold", "ended_at_risk", "extend", "get_reservation",
           "hold_with_lines", "regain_units", "release", "release_expired", "release_units", "reserve", "reserve_lines",
           "reserve_skus", "reserved_units"]


_HOLD = select(Reservation).where(Reservation.id == bindparam("id")).options(joinedload(Reservation.lines))


def hold_with_lines(hold_id: int | None) -> Reservation | None:
    """The hold with its lines, in one statement (built once); None if there is none."""
    db.session.flush()  # nothing of the unit of work's is prepared with it
    with prepared(db.session):  # by key: a plan that cannot go stale
        return db.session.scalars(_HOLD, {"id": hold_id}).unique().one_or_none()


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
    if claim(reservation, "released"):
        release_lines(reservation, stocks, f"reservation:{reservation.id}", actor_id)
    elif reservation.status not in ("released", "expired"):
        raise _not_active(reservation)
    return reservation


def consume(
    reservation: Reservation, taken: Mapping[int, int] | None = None, actor_id: int | None = None
) -> Reservation:
    """Hand over: take `taken[product_id]` units (default all) out of stock, release the rest."""
    claimed = lock_and_claim(reservation.id, "consumed", clock.now())  # PostgreSQL: one round trip
    if claimed is None:
        return _consume_loaded(reservation, taken, actor_id)
    mark_claimed(reservation, "consumed", claimed.at_risk)
    _take(reservation.id, claimed.stocks, [(line.product_id, line.quantity) for line in reservation.lines],
          taken, actor_id)
    return reservation


def consume_hold(hold_id: int, taken: Mapping[int, int] | None = None, actor_id: int | None = None) -> None:
    """`consume` by the hold's id: on PostgreSQL its lines are read by the statement that claims it,
    and the hold is never loaded. Loaded already: `consume` (it is kept in step). When that statement
    does not claim (a lapsed hold, ...): the general path on the hold, loaded then."""
    loaded = db.session.identity_map.get(identity_key(Reservation, hold_id))
    if loaded is not None:
        consume(loaded, taken, actor_id)
        return
    claimed = lock_and_claim(hold_id, "consumed", clock.now())
    if claimed is None:
        hold = hold_with_lines(hold_id)
        if hold is None:
            raise DomainError("reservation_not_found", f"No reservation {hold_id}.")
        _consume_loaded(hold, taken, actor_id)
        return
    _take(hold_id, claimed.stocks, claimed.lines, taken, actor_id)


def _consume_loaded(reservation: Reservation, taken: Mapping[int, int] | None, actor_id: int | None) -> Reservation:
    """The general path: lock the rows, let a lapsed hold expire (then refuse), claim."""
    lapsed = reservation.expires_at <= clock.now() and reservation.status == "active"
    stocks = lock_rows(reservation.store_id, [line.product_id for line in reservation.lines])
    if lapsed:
        expire_locked([reservation], stocks)
    if not claim(reservation, "consumed"):
        raise _not_active(reservation)
    _take(reservation.id, stocks, [(line.product_id, line.quantity) for line in reservation.lines], taken, actor_id)
    return reservation


def _take(hold_id: int, stocks, lines, taken: Mapping[int, int] | None, actor_id: int | None) -> None:
    """A claimed hold's stock: every line's pickup in one write, then the rest's release (lines by
    product id, whichever path read them)."""
    lines = sorted(lines)
    handed = {product_id: quantity if taken is None else min(quantity, taken.get(product_id, 0))
              for product_id, quantity in lines}
    source = f"reservation:{hold_id}"
    ledger.apply_many([(stocks[product_id], -handed[product_id], -handed[product_id])
                       for product_id, _ in lines if handed[product_id]],
                      reason="pickup", source=source, actor_id=actor_id)
    ledger.apply_many([(stocks[product_id], 0, -(quantity - handed[product_id]))
                       for product_id, quantity in lines if quantity > handed[product_id]],
                      reason="release", source=source, actor_id=actor_id)


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
        done += expire_locked(group, stocks)
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
