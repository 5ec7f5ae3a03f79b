"""Refunds in tests: a handed-over card order, a refund of one unit, and what Stripe holds."""

from __future__ import annotations

import datetime as dt

import pytest

from shop.core.clock import clock
from shop.core.extensions import db
from shop.orders.models import Order
from shop.payments import gateway as payments
from tests.support.orders import intent_of, ready_card_order


def handed_over(client, world, sc, lines=(("MUG", 2),)) -> tuple[int, int]:
    """A card order ready, then handed over (captured); (order id, its first line's id)."""
    body = ready_card_order(client, world, sc, lines=lines)
    oid = body["order"]["id"]
    resp = client.post(f"/api/v1/orders/{oid}/handover", json={"pickup_code": body["pickup_code"]},
                       headers=world["staff"])
    assert resp.status_code == 200, resp.get_json()
    return oid, body["order"]["lines"][0]["id"]


def refund_one(client, world, oid: int, line: int, key: str):
    """Staff refund one unit of the line, restocked, with this Idempotency-Key."""
    return client.post(f"/api/v1/orders/{oid}/refunds", json={"lines": [{"line_id": line, "quantity": 1}],
                                                               "restock": True},
                       headers={**world["staff"], "Idempotency-Key": key})


def stripe_refunds(sc, order_id: int) -> list:
    """The refunds Omnishop made at Stripe for the order (localstripe's partial captures refund too)."""
    return [r for r in sc.v1.refunds.list(params={"payment_intent": intent_of(order_id)}).data
            if (r.to_dict().get("metadata") or {}).get("omnishop_key")]


def later(monkeypatch, seconds: float) -> None:
    when = clock.now() + dt.timedelta(seconds=seconds)
    monkeypatch.setattr(clock, "now", lambda: when)


def past_grace(app, monkeypatch) -> None:
    """Now is past the grace period of every refund in flight so far."""
    later(monkeypatch, app.config["REFUND_IN_FLIGHT_GRACE_SECONDS"] + 1)


def order_of(order_id: int) -> Order:
    """The order as the database holds it now."""
    db.session.expire_all()
    return db.session.get(Order, order_id)


class WorkerKilled(BaseException):
    """The worker's end: nothing after it runs, nothing after the last commit is kept."""


def refund_killed(client, world, oid: int, line: int, monkeypatch, *, after_stripe: bool) -> None:
    """Send a refund of one unit (key "r-1") whose worker dies just before, or just after, Stripe's
    refund: the refund in flight and the key's claim are committed, nothing after them."""
    real = payments.Gateway.refund

    def refund(self, intent_id, amount, key):
        if after_stripe:
            real(self, intent_id, amount, key)
        raise WorkerKilled

    with monkeypatch.context() as m:
        m.setattr(payments.Gateway, "refund", refund)
        with pytest.raises(WorkerKilled):
            refund_one(client, world, oid, line, "r-1")
