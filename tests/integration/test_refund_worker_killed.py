"""A real gunicorn worker SIGKILLed while Stripe makes its refund: Stripe refunded, the reply never
came back, nothing recorded but the refund in flight. The sweep records it once; the retry of the
original request (same Idempotency-Key, through gunicorn) gets the refund as recorded, and Stripe
still holds one refund. PostgreSQL, localstripe behind a proxy that holds the refund's reply."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from shop.orders.refunds_in_flight import settle_refunds
from tests.support.gunicorn import gunicorn, workers_of
from tests.support.invariants import assert_stock_invariants
from tests.support.orders import stripe_client
from tests.support.refunds import handed_over, order_of, past_grace, refund_one, stripe_refunds

pytestmark = pytest.mark.postgres


class Remote:
    """refund_one's client, through gunicorn over HTTP; a dropped connection is None."""

    def __init__(self, url: str) -> None:
        self.url = url

    def post(self, path, json, headers):
        try:
            return requests.post(self.url + path, json=json, headers=headers, timeout=60)
        except requests.ConnectionError:
            return None


def test_a_worker_killed_during_stripes_refund_leaves_one_refund_recorded_by_the_sweep(
        app, database_url, localstripe_url, slow_stripe, store_world, tmp_path, monkeypatch):
    sc = stripe_client(localstripe_url, "sk_test_slow")
    oid, line = handed_over(app.test_client(), store_world, sc)
    env = {"DATABASE_URL": database_url, "SECRET_KEY": app.config["SECRET_KEY"], "LOG_LEVEL": "WARNING",
           "OMNISHOP_INSTANCE_DIR": str(tmp_path / "instance"), "STRIPE_SECRET_KEY": "sk_test_slow",
           "STRIPE_API_BASE": slow_stripe.url}
    gate = slow_stripe.hold("POST", "/v1/refunds")
    with open(tmp_path / "gunicorn.log", "wb") as log, gunicorn("wsgi:app", env, workers=1, log=log) as (url, master):
        remote = Remote(url)
        with ThreadPoolExecutor(max_workers=1) as pool:
            sent = pool.submit(refund_one, remote, store_world, oid, line, "r-1")
            assert gate.arrived.wait(30), "the refund never reached Stripe"
            [worker] = workers_of(master)
            os.kill(worker, signal.SIGKILL)  # Stripe has refunded; its reply is still at the gate
            gate.open()
            assert sent.result() is None  # the connection died with the worker
        assert len(stripe_refunds(sc, oid)) == 1
        order = order_of(oid)
        assert (order.refunded_amount, order.payment.refund_pending is not None) == (0, True)

        past_grace(app, monkeypatch)
        assert settle_refunds() == 1
        order = order_of(oid)
        assert (order.refunded_amount, order.lines[0].refunded_quantity, order.payment.refund_pending) == (
            1200, 1, None)

        retry = refund_one(remote, store_world, oid, line, "r-1")
        assert retry is not None and retry.status_code == 201, retry and retry.text
        assert retry.json()["refunded_total"] == 1200
        again = refund_one(remote, store_world, oid, line, "r-2")  # the order takes refunds again
        assert again is not None and again.status_code == 201, again and again.text
    assert sorted(r.amount for r in stripe_refunds(sc, oid)) == [1200, 1200]
    assert order_of(oid).refunded_amount == 2400
    assert_stock_invariants()
