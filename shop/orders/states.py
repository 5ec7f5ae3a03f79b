"""The pickup order state machine: the one place that says which move is allowed, by whom.

Every move writes an OrderEvent (actor, channel, time), a timeline entry (by signal) and may send
the signal a message will be sent about. An illegal move is a 409 naming the current status and
the moves allowed from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import bindparam, insert, inspect, update
from sqlalchemy.orm.attributes import set_committed_value

from shop.accounts.actors import Actor
from shop.core import appends, events
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.plans import one_statement
from shop.orders.models import Order, OrderEvent
from shop.orders.queries import qr_payload
from stores.models import Store

SHOPPER, STAFF, SYSTEM = "shopper", "staff", "system"
# An order's changed columns by its id (the columns vary; appends builds one statement per set of them)
_ORDER_UPDATE = update(Order.__table__).where(Order.__table__.c.id == bindparam("order_id"))
_EVENT = insert(OrderEvent.__table__)  # append-only, read by no one in the request: no ORM object to flush


@dataclass(frozen=True)
class Move:
    source: str
    target: str
    who: frozenset[str]


MOVES: dict[str, list[Move]] = {
    "authorize": [Move("pending_payment", "placed", frozenset({SYSTEM}))],
    "start_picking": [Move("placed", "picking", frozenset({STAFF}))],
    "ready": [Move("picking", "ready_for_pickup", frozenset({STAFF}))],
    # The system hands over only what was captured at the counter and whose reply was lost.
    "hand_over": [Move("ready_for_pickup", "picked_up", frozenset({STAFF, SYSTEM}))],
    "cancel": [
        Move("pending_payment", "cancelled", frozenset({SHOPPER, STAFF, SYSTEM})),
        Move("placed", "cancelled", frozenset({SHOPPER, STAFF, SYSTEM})),
        Move("picking", "cancelled", frozenset({STAFF, SYSTEM})),
        Move("ready_for_pickup", "cancelled", frozenset({STAFF, SYSTEM})),
    ],
    "expire": [
        Move("pending_payment", "expired", frozenset({SYSTEM})),
        Move("ready_for_pickup", "expired", frozenset({SYSTEM})),
    ],
}

SIGNALS = {
    "placed": events.order_placed,
    "ready_for_pickup": events.order_ready,
    "picked_up": events.order_picked_up,
    "cancelled": events.order_cancelled,
    "expired": events.order_expired,
}


def role_of(actor: Actor | None) -> str:
    if actor is None:
        return SYSTEM
    return STAFF if actor.kind == "staff" else SHOPPER


def allowed_from(status: str) -> list[str]:
    return sorted(action for action, moves in MOVES.items() if any(m.source == status for m in moves))


def find_move(order: Order, action: str, actor: Actor | None) -> Move:
    who = role_of(actor)
    for move in MOVES[action]:
        if move.source == order.status:
            if who not in move.who:
                raise DomainError("move_not_allowed",
                                  f"A {who} may not {action.replace('_', ' ')} an order that is {order.status}.",
                                  status_now=order.status, allowed=allowed_from(order.status))
            return move
    raise DomainError("illegal_transition",
                      f"The order is {order.status}: it cannot {action.replace('_', ' ')}.",
                      status_now=order.status, allowed=allowed_from(order.status))


def can(order: Order, action: str, actor: Actor | None = None) -> bool:
    return any(m.source == order.status and role_of(actor) in m.who for m in MOVES[action])


def message_fields(order: Order) -> dict:
    """What a message about this order needs, so notifications never read order tables."""
    return {
        "order_id": order.id, "number": order.number, "status": order.status, "cart_id": order.cart_id,
        "customer_id": order.customer_id, "email": order.email, "phone": order.phone,
        "sms_updates": order.sms_updates, "store_id": order.store_id,
        "total": order.total, "currency": order.currency, "access_token": order.access_token,
        "promised_at": order.promised_at.isoformat() if order.promised_at else None,
        "pickup_deadline": order.pickup_deadline.isoformat() if order.pickup_deadline else None,
        "pickup_code": order.pickup_code,
        # For the messages: the store (its zone sets quiet hours), the QR, the receipt.
        **_store_fields(order.store_id), "pickup_qr": qr_payload(order), "payment_method": order.payment_method,
        "captured_amount": order.captured_amount, "refunded_amount": order.refunded_amount,
        "lines": [{"sku": line.sku, "name": line.name, "quantity": line.handed_quantity,
                   "unit_price": line.unit_price} for line in order.lines],
    }


def _store_fields(store_id: int) -> dict:
    store = db.session.get(Store, store_id)
    return {"store_name": store.name, "store_address": store.address, "store_timezone": store.timezone}


def _pending(order: Order) -> dict:
    """The order's columns changed since loaded (what a flush would write), by column."""
    state = inspect(order)
    columns = state.mapper.column_attrs
    changed = {}
    for key in list(state.committed_state):  # only what was set since loaded can have changed
        added = state.attrs[key].history.added if key in columns else ()
        if added:
            changed[key] = added[0]
    return changed


def _clean(order: Order) -> None:
    """With nothing else pending on the order, mark it clean as a flush would: otherwise the next
    autoflush runs the unit of work over it (about 1 ms of CPU) to find nothing to write. SQLAlchemy's
    own end of a flush (`_commit_all`, private: pinned at 2.1.9 in constraints.txt). Not inside a
    savepoint: its rollback expires only the objects flagged modified (or flushed) in it, and the
    order must be among them (reconcile's handover that fails on a lapsed hold: test_reconcile)."""
    state = inspect(order)
    if db.session().in_nested_transaction():
        return
    if not any(state.attrs[key].history.has_changes() for key in state.committed_state):
        state._commit_all(state.dict, db.session.identity_map)  # e.g. an amount set to what it was


def _write(order: Order, event: dict) -> None:
    """The event, with the order's pending changes, as writes of `shop.core.appends`: on PostgreSQL
    the order's UPDATE (the columns a flush would write) and the event's INSERT go as one statement,
    with whatever else the enclosing `together()` block queued (a move's messages: `move`); no unit
    of work for the order. Elsewhere the flush writes the order, then the event is inserted. The
    row is already locked by the caller either way (tests/integration/test_order_move_writes.py:
    the same rows). The values are marked written when queued, so no flush writes them again."""
    changed = _pending(order) if one_statement() else {}
    with appends.together():
        if changed:
            appends.write(_ORDER_UPDATE, {**changed, "order_id": order.id})
            for key, value in changed.items():
                set_committed_value(order, key, value)
            _clean(order)
        appends.write(_EVENT, event)  # queued inside a together block (shop/core/appends.py)


def record(order: Order, type_: str, actor: Actor | None, source: str | None = None, **detail) -> None:
    channel = actor.channel if actor else "web"
    _write(order, {"order_id": order.id, "type": type_, "from_status": source, "to_status": order.status,
                   "actor_type": actor.kind if actor else "system",
                   "actor_id": actor.user_id if actor else None, "channel": channel, "detail": detail,
                   "created_at": clock.now()})
    events.order_event.send(current_app._get_current_object(), customer_id=order.customer_id,
                            order_id=order.id, number=order.number, type=type_, channel=channel,
                            status=order.status)


def move(order: Order, action: str, actor: Actor | None = None, **detail) -> Order:
    """Apply an allowed move (the caller holds the order's row lock) and tell whoever listens."""
    step = find_move(order, action, actor)
    order.status = step.target
    with appends.together():  # the order's UPDATE, its event and the signal's messages: one statement
        record(order, action, actor, step.source, **detail)
        signal = SIGNALS.get(step.target)
        if signal is not None:
            signal.send(current_app._get_current_object(), **message_fields(order), reason=detail.get("reason"))
    return order
