"""The invariants of DESIGN.md, checked against the database: stock = ledger = live holds; no hold
outlives its order; payments match orders; each outbox message sent at most once."""

from __future__ import annotations

from sqlalchemy import func, select

from inventory.models import LedgerEntry, Reservation, ReservationLine, Stock
from shop.core.extensions import db
from shop.orders.models import Order
from shop.payments.models import Payment

OPEN = ("pending_payment", "placed", "picking", "ready_for_pickup")


def assert_stock_invariants() -> None:
    """on_hand and reserved equal their ledger sums; reserved equals the live reservations; each
    line's store, expiry and live flag are its reservation's."""
    ledger = {
        (s, p): (oh, rs)
        for s, p, oh, rs in db.session.execute(
            select(LedgerEntry.store_id, LedgerEntry.product_id,
                   func.sum(LedgerEntry.delta_on_hand), func.sum(LedgerEntry.delta_reserved))
            .group_by(LedgerEntry.store_id, LedgerEntry.product_id)
        )
    }
    live = {
        (s, p): q
        for s, p, q in db.session.execute(
            select(Reservation.store_id, ReservationLine.product_id, func.sum(ReservationLine.quantity))
            .join(Reservation)
            .where(Reservation.status == "active")
            .group_by(Reservation.store_id, ReservationLine.product_id)
        )
    }
    for row in db.session.scalars(select(Stock).execution_options(populate_existing=True)):
        key = (row.store_id, row.product_id)
        on_hand, reserved = ledger.get(key, (0, 0))
        assert row.on_hand == on_hand, f"{key}: on_hand {row.on_hand} != ledger {on_hand}"
        assert row.reserved == reserved, f"{key}: reserved {row.reserved} != ledger {reserved}"
        assert row.reserved == live.get(key, 0), f"{key}: reserved {row.reserved} != live {live.get(key, 0)}"
        assert row.reserved >= 0
    # Lines copy their hold's store, expiry and liveness for ix_reservation_lines_live: never out of step.
    astray = db.session.execute(
        select(ReservationLine.id).join(Reservation)
        .where((ReservationLine.live != (Reservation.status == "active"))
               | (ReservationLine.store_id != Reservation.store_id)
               | (ReservationLine.expires_at != Reservation.expires_at))
    ).all()
    assert astray == [], f"reservation lines out of step with their hold: {astray}"


def assert_order_invariants() -> None:
    """A closed order holds no stock and an open one still does; payments match orders (without asking
    Stripe: `payment_mismatches`)."""
    held = db.session.execute(
        select(Order.id, Order.status, Reservation.status).join(Reservation, Order.reservation_id == Reservation.id)
        .where((Order.status.in_(OPEN)) != (Reservation.status == "active"))
    ).all()
    assert held == [], f"holds out of step with their orders (order, order status, hold status): {held[:10]}"
    mismatched = payment_mismatches()
    assert mismatched == [], f"payments that do not match their orders: {mismatched[:10]}"


def payment_mismatches(sc=None) -> list[str]:
    """Payments match orders: the one statement of it (faults, the cluster and tests use it): a card
    order has its one payment and a pay-at-store order none; a handed-over order was paid in full, an
    order never handed over took nothing; and with a Stripe client `sc`, every card order says what its
    PaymentIntent says (`payment_mismatch`). One line per order out of step; [] when all match."""
    unpaired = db.session.execute(
        select(Order.id, Order.payment_method, Payment.id).outerjoin(Payment, Payment.order_id == Order.id)
        .where(((Order.payment_method == "card") & Payment.id.is_(None))
               | ((Order.payment_method == "pay_at_store") & Payment.id.is_not(None)))
    ).all()
    found = [f"order {oid}: paid by {method} with payment {pid}" for oid, method, pid in unpaired]
    money = db.session.execute(
        select(Order.id, Order.status, Order.total, Order.captured_amount)
        .where(((Order.status == "picked_up") & (Order.captured_amount < Order.total - Order.refunded_amount))
               | ((Order.status != "picked_up") & (Order.captured_amount != 0)))
    ).all()
    found += [f"order {oid}: {status}, total {total}, captured {captured}" for oid, status, total, captured in money]
    if sc is not None:
        card = db.session.scalars(select(Order.id).join(Payment, Payment.order_id == Order.id).order_by(Order.id))
        found += [mismatch for oid in list(card) if (mismatch := payment_mismatch(sc, oid)) is not None]
    return found


def payment_mismatch(sc, order_id: int) -> str | None:
    """None when the card order's payment says what Stripe's intent says (its status, and the money kept:
    captured less refunded); else what differs. Kept, not captured and refunded each: localstripe takes a
    partial capture as a full one and a refund of the rest, Stripe as the part alone. `sc` is a stripe.StripeClient on the Stripe the app used."""
    order = db.session.get(Order, order_id, populate_existing=True)
    intent = sc.v1.payment_intents.retrieve(order.payment.intent_id)
    refunds = (sc.v1.refunds.list(params={"payment_intent": intent.id}).data
               if intent.status == "succeeded" else [])  # (localstripe lists none of an intent with no charge)
    fields = intent.to_dict()
    received = fields.get("amount_received") or (fields["amount"] if intent.status == "succeeded" else 0)
    if order.payment.status != intent.status:
        return f"order {order_id}: payment {order.payment.status}, intent {intent.status}"
    refunded = sum(r.amount for r in refunds)
    if order.captured_amount - order.refunded_amount != received - refunded:
        return (f"order {order_id}: kept {order.captured_amount - order.refunded_amount} (captured "
                f"{order.captured_amount}, refunded {order.refunded_amount}), Stripe kept {received - refunded} "
                f"(took {received}, refunded {[r.amount for r in refunds]})")
    return None


def messages_sent_twice(message_ids: list[str]) -> dict[str, int]:
    """Of the Message-ID headers a mail server received, those it received more than once."""
    counts: dict[str, int] = {}
    for message_id in message_ids:
        counts[message_id] = counts.get(message_id, 0) + 1
    return {message_id: n for message_id, n in counts.items() if n > 1}
