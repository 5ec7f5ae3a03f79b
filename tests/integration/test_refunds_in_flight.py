"""A refund whose worker died between its two transactions (the refund in flight committed, the
outcome never recorded) is settled by the sweep as the request would have settled it: the order's
refund figures match Stripe, Stripe holds one refund only, the order takes refunds again, and the
request's Idempotency-Key answers its retry without a second refund."""

from __future__ import annotations

import pytest

from shop.core import events
from shop.core.extensions import db
from shop.orders.models import OrderEvent
from shop.orders.refunds_in_flight import settle_refunds
from tests.support.invariants import assert_stock_invariants
from tests.support.orders import stripe_unreachable
from tests.support.problems import assert_problem
from tests.support.refunds import (
    handed_over,
    later,
    order_of,
    past_grace,
    refund_killed,
    refund_one,
    stripe_refunds,
)
from tests.support.signals import captured


@pytest.fixture
def picked_up(client, store_world, stripe_app):
    """A card order of two mugs, handed over (captured 2400); (order id, mug line id)."""
    return handed_over(client, store_world, stripe_app)


def test_a_refund_made_at_stripe_whose_worker_died_is_recorded_once(app, client, store_world, stripe_app,
                                                                    picked_up, monkeypatch):
    oid, line = picked_up
    refund_killed(client, store_world, oid, line, monkeypatch, after_stripe=True)
    assert order_of(oid).payment.refund_pending is not None
    assert_problem(refund_one(client, store_world, oid, line, "r-1"), 409, "request_in_progress")
    assert_problem(refund_one(client, store_world, oid, line, "r-2"), 409, "refund_in_progress")
    assert settle_refunds() == 0  # within the grace period its request may still record it

    past_grace(app, monkeypatch)
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
    refund_killed(client, store_world, oid, line, monkeypatch, after_stripe=False)
    past_grace(app, monkeypatch)
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
    oid, line = picked_up
    refund_killed(client, store_world, oid, line, monkeypatch, after_stripe=True)
    past_grace(app, monkeypatch)
    with stripe_unreachable(app):
        assert settle_refunds() == 1
    assert order_of(oid).payment.refund_pending is not None  # nothing decided without Stripe's word
    later(monkeypatch, 6 * 60)  # past the look's lease
    assert settle_refunds() == 1
    assert order_of(oid).refunded_amount == 1200
    assert len(stripe_refunds(stripe_app, oid)) == 1


def test_the_sweep_answers_only_the_dead_request_of_its_own_order(app, client, store_world, stripe_app,
                                                                  picked_up, monkeypatch):
    """Two orders' refunds die in flight (both under key "r-1"), after a refund of the first order
    that was answered (key "r-0"): each retry replays its own refund, never another's."""
    oid, line = picked_up
    done = refund_one(client, store_world, oid, line, "r-0")
    assert done.status_code == 201 and done.get_json()["refunded_total"] == 1200
    other, other_line = handed_over(client, store_world, stripe_app, lines=(("TEA", 1),))
    for order_id, line_id in ((oid, line), (other, other_line)):
        refund_killed(client, store_world, order_id, line_id, monkeypatch, after_stripe=True)
    past_grace(app, monkeypatch)
    assert settle_refunds() == 2
    assert refund_one(client, store_world, oid, line, "r-0").data == done.data
    assert refund_one(client, store_world, oid, line, "r-1").get_json()["refunded_total"] == 2400
    assert refund_one(client, store_world, other, other_line, "r-1").get_json()["refunded_total"] == 500
    assert len(stripe_refunds(stripe_app, oid)) == 2 and len(stripe_refunds(stripe_app, other)) == 1
