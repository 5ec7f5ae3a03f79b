"""A refund whose worker died between its two transactions (the refund in flight committed, the
outcome never recorded) is settled by the sweep as the request would have settled it: the order's
refund figures match Stripe, Stripe holds one refund only, the order takes refunds again, and the
request's Idempotency-Key answers its retry without a second refund."""

from __future__ import annotations

import datetime as dt

import pytest

from shop.core import events
from shop.core.clock import clock
from shop.core.extensions import db
from shop.orders.models import Order, OrderEvent
from shop.orders.refunds_in_flight import settle_refunds
from shop.payments import gateway as payments
from tests.support.invariants import assert_stock_invariants
from tests.support.orders import intent_of, ready_card_order
from tests.support.problems import assert_problem
from tests.support.signals import captured


class WorkerKilled(BaseException):
    """The worker's end: nothing after it runs, nothing after the last commit is kept."""


def killed_around_the_call(monkeypatch, *, after_stripe: bool) -> None:
    """The next refund's worker dies just before, or just after, Stripe's refund."""
    real = payments.Gateway.refund

    def refund(self, intent_id, amount, key):
        if after_stripe:
            real(self, intent_id, amount, key)
        raise WorkerKilled

    monkeypatch.setattr(payments.Gateway, "refund", refund)


def order_of(order_id: int) -> Order:
    db.session.expire_all()
    return db.session.get(Order, order_id)


def stripe_refunds(sc, order_id: int) -> list:
    return [r for r in sc.v1.refunds.list(params={"payment_intent": intent_of(order_id)}).data
            if (r.to_dict().get("metadata") or {}).get("omnishop_key")]  # localstripe's partial captures refund too


@pytest.fixture
def picked_up(client, store_world, stripe_app):
    """A card order of two mugs, handed over (captured 2400); (order id, mug line id)."""
    body = ready_card_order(client, store_world, stripe_app, lines=(("MUG", 2),))
    oid = body["order"]["id"]
    resp = client.post(f"/api/v1/orders/{oid}/handover", json={"pickup_code": body["pickup_code"]},
                       headers=store_world["staff"])
    assert resp.status_code == 200, resp.get_json()
    return oid, body["order"]["lines"][0]["id"]


def refund_one(client, world, oid, line, key):
    return client.post(f"/api/v1/orders/{oid}/refunds", json={"lines": [{"line_id": line, "quantity": 1}],
                                                               "restock": True},
                       headers={**world["staff"], "Idempotency-Key": key})


def later(monkeypatch, seconds: float) -> None:
    when = clock.now() + dt.timedelta(seconds=seconds)
    monkeypatch.setattr(clock, "now", lambda: when)


def test_a_refund_made_at_stripe_whose_worker_died_is_recorded_once(app, client, store_world, stripe_app,
                                                                    picked_up, monkeypatch):
    oid, line = picked_up
    with monkeypatch.context() as m:
        killed_around_the_call(m, after_stripe=True)
        with pytest.raises(WorkerKilled):
            refund_one(client, store_world, oid, line, "r-1")
    assert order_of(oid).payment.refund_pending is not None
    assert_problem(refund_one(client, store_world, oid, line, "r-1"), 409, "request_in_progress")
    assert_problem(refund_one(client, store_world, oid, line, "r-2"), 409, "refund_in_progress")
    assert settle_refunds() == 0  # within the grace period its request may still record it

    later(monkeypatch, app.config["REFUND_IN_FLIGHT_GRACE_SECONDS"] + 1)
    with captured(events.order_refunded) as told:
        assert settle_refunds() == 1
    order = order_of(oid)
    assert [r.amount for r in stripe_refunds(stripe_app, oid)] == [1200]
    assert (order.refunded_amount, order.lines[0].refunded_quantity) == (1200, 1)
    assert (order.payment.refund_pending, order.payment.refund_since) == (None, None)
    assert [t["amount"] for t in told] == [1200]
    last = db.session.scalars(db.select(OrderEvent).where(OrderEvent.order_id == oid)
                              .order_by(OrderEvent.id.desc())).first()
    assert (last.type, last.actor_type) == ("refunded", "system")
    assert_stock_invariants()

    retry = refund_one(client, store_world, oid, line, "r-1")  # the original request, sent again
    assert retry.status_code == 201, retry.get_json()
    assert retry.get_json() == {"amount": 1200, "currency": "USD", "refunded_total": 1200, "restocked": True}
    assert len(stripe_refunds(stripe_app, oid)) == 1
    assert settle_refunds() == 0

    again = refund_one(client, store_world, oid, line, "r-3")  # the order takes refunds again
    assert again.status_code == 201, again.get_json()
    assert sorted(r.amount for r in stripe_refunds(stripe_app, oid)) == [1200, 1200]
    assert order_of(oid).refunded_amount == 2400


def test_a_refund_never_sent_is_cleared_and_its_key_runs_again(app, client, store_world, stripe_app, picked_up,
                                                               monkeypatch):
    oid, line = picked_up
    with monkeypatch.context() as m:
        killed_around_the_call(m, after_stripe=False)
        with pytest.raises(WorkerKilled):
            refund_one(client, store_world, oid, line, "r-1")
    later(monkeypatch, app.config["REFUND_IN_FLIGHT_GRACE_SECONDS"] + 1)
    with captured(events.order_refunded) as told:
        assert settle_refunds() == 1
    order = order_of(oid)
    assert (order.refunded_amount, order.payment.refund_pending, told) == (0, None, [])
    assert stripe_refunds(stripe_app, oid) == []
    types = db.session.scalars(db.select(OrderEvent.type).where(OrderEvent.order_id == oid)).all()
    assert "refund_not_made" in types

    retry = refund_one(client, store_world, oid, line, "r-1")  # the same key runs as a first request
    assert retry.status_code == 201, retry.get_json()
    assert [r.amount for r in stripe_refunds(stripe_app, oid)] == [1200]
    assert order_of(oid).refunded_amount == 1200
    assert_stock_invariants()


def test_stripe_unreachable_leaves_the_refund_for_the_next_run(app, client, store_world, stripe_app, picked_up,
                                                               monkeypatch):
    from tests.support.orders import stripe_unreachable

    oid, line = picked_up
    with monkeypatch.context() as m:
        killed_around_the_call(m, after_stripe=True)
        with pytest.raises(WorkerKilled):
            refund_one(client, store_world, oid, line, "r-1")
    later(monkeypatch, app.config["REFUND_IN_FLIGHT_GRACE_SECONDS"] + 1)
    with stripe_unreachable(app):
        assert settle_refunds() == 1
    assert order_of(oid).payment.refund_pending is not None  # nothing decided without Stripe's word
    later(monkeypatch, 6 * 60)  # past the look's lease
    assert settle_refunds() == 1
    assert order_of(oid).refunded_amount == 1200
    assert len(stripe_refunds(stripe_app, oid)) == 1
