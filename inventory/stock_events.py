"""Till and back-room events (receipt, sale, return, count, damage), idempotent by event_id.

They record what physically happened: a till sale is accepted even when it takes a unit promised
online; the reservations it leaves uncovered are marked at risk, never dropped.
"""

from __future__ import annotations

import hashlib
import json
import logging

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from inventory import ledger
from inventory.models import Product, Reservation, ReservationLine, StockEvent
from inventory.stock import lock_rows, store_stock
from shop.core import events
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db

log = logging.getLogger(__name__)
EVENT_TYPES = ("receipt", "sale", "return", "count", "damage")
_SIGN = {"receipt": 1, "return": 1, "sale": -1, "damage": -1}


def _fingerprint(event_type: str, lines: list[tuple[str, int]]) -> str:
    body = json.dumps({"type": event_type, "lines": sorted(lines)}, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def _replay(existing: StockEvent, fingerprint: str) -> tuple[dict, bool]:
    if existing.request_hash != fingerprint:
        raise DomainError("event_id_reused",
                          f"Event {existing.event_id} was already recorded with other contents.")
    return existing.result, True


def _find(store_id: int, event_id: str) -> StockEvent | None:
    return db.session.scalar(
        select(StockEvent).where(StockEvent.store_id == store_id, StockEvent.event_id == event_id)
    )


def record_event(
    store_id: int,
    event_id: str,
    event_type: str,
    lines: dict[Product, int],
    actor_id: int | None = None,
) -> tuple[dict, bool]:
    """Apply the event once; returns (result, replayed). A retried event_id changes nothing."""
    fingerprint = _fingerprint(event_type, [(p.sku, q) for p, q in lines.items()])
    existing = _find(store_id, event_id)
    if existing is not None:
        return _replay(existing, fingerprint)
    event = StockEvent(store_id=store_id, event_id=event_id, type=event_type,
                       request_hash=fingerprint, result={}, actor_id=actor_id)
    try:
        with db.session.begin_nested():
            db.session.add(event)
            db.session.flush()  # claims the event_id; a concurrent twin waits here, then fails
    except IntegrityError:
        return _replay(_find(store_id, event_id), fingerprint)

    by_id = {p.id: (p, q) for p, q in lines.items()}
    stocks = lock_rows(store_id, by_id)
    result_lines, at_risk, warnings = [], [], []
    for pid in sorted(by_id):
        product, qty = by_id[pid]
        stock = stocks[pid]
        delta = qty - stock.on_hand if event_type == "count" else _SIGN[event_type] * qty
        ledger.apply(stock, reason=event_type, delta_on_hand=delta,
                     source=f"event:{event_id}", actor_id=actor_id)
        at_risk += [r.id for r in refresh_at_risk(store_id, pid, stock.on_hand)]
        result_lines.append({
            "sku": product.sku,
            "quantity": qty,
            "delta_on_hand": delta,
            "on_hand": stock.on_hand,
        })
        if stock.on_hand < 0:
            warnings.append(_negative(store_id, product.sku, stock.on_hand))
        events.stock_changed.send(current_app._get_current_object(), store_id=store_id,
                                  sku=product.sku, on_hand=stock.on_hand)
    # What shoppers now see (expired holds count as free), read as every reader reads it.
    figures = store_stock(store_id, [line["sku"] for line in result_lines], clock.now())
    for line, figure in zip(result_lines, figures, strict=True):
        line["available"] = figure["available"]
    event.result = {
        "event_id": event_id,
        "store_id": store_id,
        "type": event_type,
        "lines": result_lines,
        "at_risk_reservation_ids": sorted(set(at_risk)),
        "warnings": warnings,
        "recorded_at": event.created_at.isoformat(),
    }
    db.session.flush()
    return event.result, False


def _negative(store_id: int, sku: str, on_hand: int) -> dict:
    """The till is believed (it handed the goods over), but a figure below zero means the shelf
    count was wrong: say so in the reply and the log, so someone counts it."""
    log.warning("stock below zero after a till event: store %s, %s, on_hand %s", store_id, sku, on_hand)
    return {"sku": sku, "code": "negative_on_hand",
            "detail": f"{sku}: on hand is now {on_hand}; count the shelf (a count event sets the figure)."}


def refresh_at_risk(store_id: int, product_id: int, on_hand: int) -> list[Reservation]:
    """Mark the live reservations of a SKU that on_hand no longer covers (oldest keep their units).

    Returns the reservations that became at risk just now; a signal goes out for each.
    """
    now = clock.now()
    rows = db.session.execute(
        select(ReservationLine, Reservation)
        .join(Reservation)
        .where(  # the live, unexpired lines of this SKU at this store (ix_reservation_lines_live)
            ReservationLine.store_id == store_id,
            ReservationLine.product_id == product_id,
            ReservationLine.live,
            ReservationLine.expires_at > now,
        )
        .order_by(Reservation.created_at, Reservation.id)
    ).all()
    covered, newly = max(0, on_hand), []
    for line, reservation in rows:
        line.at_risk = line.quantity > covered
        covered = max(0, covered - line.quantity)
        was = reservation.at_risk
        reservation.at_risk = any(item.at_risk for item in reservation.lines)
        if reservation.at_risk and not was:
            newly.append(reservation)
    for reservation in newly:
        events.reservation_at_risk.send(
            current_app._get_current_object(),
            reservation_id=reservation.id,
            store_id=store_id,
            reference=reservation.reference,
        )
    return newly


def count_at_risk() -> int:
    """Open, unexpired holds marked at risk, across stores (for /metrics): one count over
    ix_reservations_at_risk, which holds only such rows, so it costs what is at risk, not history."""
    return db.session.scalar(
        select(func.count()).select_from(Reservation).where(
            Reservation.at_risk, Reservation.status == "active", Reservation.expires_at > clock.now())) or 0
