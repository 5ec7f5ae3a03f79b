"""Idempotency-Key as a client meets it: what a key may look like, and that a key answers only for its own request."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import jsonify
from sqlalchemy import event

from inventory.models import Reservation
from shop.carts.models import Cart
from shop.core import idempotency
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.orders.models import Order
from tests.support import factories as f
from tests.support.orders import cart_for, checkout
from tests.support.problems import assert_problem
from tests.support.refunds import handed_over, refund_one, stripe_refunds


def _orders() -> int:
    return db.session.scalar(db.select(db.func.count(Order.id)))


@pytest.mark.parametrize("key", ["has space", "caf\u00e9", "tab\there", "x" * 256])
def test_a_key_that_is_not_1_to_255_visible_ascii_characters_is_refused(client, store_world, key):
    resp = checkout(client, cart_for(client, store_world["store"]), key=key)
    assert_problem(resp, 422, "idempotency_key_invalid")
    assert _orders() == 0


@pytest.mark.parametrize("key", ["!", "~" * 255, "order-2026-11-24:7f3a"])
def test_any_visible_ascii_key_up_to_255_characters_is_taken(client, store_world, key):
    cart_id = cart_for(client, store_world["store"])
    first = checkout(client, cart_id, key=key)
    assert first.status_code == 201, first.get_json()
    assert checkout(client, cart_id, key=key).get_json() == first.get_json()
    assert _orders() == 1


def test_one_key_on_two_carts_places_two_orders(client, store_world):
    # A key answers for one request: another cart with the same key is not a replay of the first.
    carts = [cart_for(client, store_world["store"], lines=((sku, 1),)) for sku in ("MUG", "TEA")]
    first, second = (checkout(client, cart_id, key="same-key") for cart_id in carts)
    assert first.status_code == second.status_code == 201
    assert first.get_json()["order"]["id"] != second.get_json()["order"]["id"]
    for cart_id, reply in reversed(list(zip(carts, (first, second), strict=True))):
        assert checkout(client, cart_id, key="same-key").get_json() == reply.get_json()  # its own order
    assert _orders() == 2


def test_a_retried_refund_replays_its_own_reply_not_another_keys_or_another_callers(
        client, store_world, stripe_app):
    """Two refunds by one clerk under two keys, and a colleague's under the first clerk's key:
    each retry answers with its own refund's reply (and Stripe is asked once for each)."""
    oid, line = handed_over(client, store_world, stripe_app, lines=(("MUG", 3),))
    colleague = {"Authorization": store_world["staff"]["Authorization"]}
    colleague["Authorization"] = f.bearer(f.user("staff", [store_world["store"]]))["Authorization"]
    db.session.commit()
    mine = [refund_one(client, store_world, oid, line, key) for key in ("r-1", "r-2")]
    theirs = refund_one(client, {**store_world, "staff": colleague}, oid, line, "r-1")
    assert [r.status_code for r in (*mine, theirs)] == [201, 201, 201]
    assert [r.get_json()["refunded_total"] for r in (*mine, theirs)] == [1200, 2400, 3600]
    assert refund_one(client, store_world, oid, line, "r-2").data == mine[1].data
    assert refund_one(client, {**store_world, "staff": colleague}, oid, line, "r-1").data == theirs.data
    assert len(stripe_refunds(stripe_app, oid)) == 3


def test_a_changed_body_under_a_used_key_is_refused_and_the_first_reply_stays(client, store_world):
    cart_id = cart_for(client, store_world["store"])
    first = checkout(client, cart_id, key="k-1")
    assert_problem(checkout(client, cart_id, key="k-1", email="else@example.com"), 422, "idempotency_key_reused")
    assert checkout(client, cart_id, key="k-1").get_json() == first.get_json()
    assert _orders() == 1


def test_a_checkout_that_meets_its_key_taken_at_its_last_write_undoes_its_work_and_replays(client, store_world):
    # Paid at the store, the key is claimed by the checkout's last write. Should a second attempt get
    # that far (here the cart is made active again by hand, as no request does), the key's row stops
    # it there: its order and hold are rolled back and the first reply is the answer.
    cart_id = cart_for(client, store_world["store"], lines=(("MUG", 2),))
    first = checkout(client, cart_id, key="k-last")
    assert first.status_code == 201, first.get_json()
    db.session.get(Cart, cart_id).status = "active"
    db.session.commit()
    again = checkout(client, cart_id, key="k-last")
    assert again.status_code == 201 and again.data == first.data
    db.session.expire_all()
    assert _orders() == 1 and db.session.scalar(db.select(db.func.count(Reservation.id))) == 1
    assert db.session.get(Cart, cart_id).status == "active"  # the second conversion was undone too


def test_a_key_claimed_but_not_yet_answered_is_in_progress(app):
    # Within the request that claimed it, until its reply is stored (a retry that overtakes its first try).
    with app.test_request_context():  # a key is its caller's: claims happen in a request
        idempotency.claim("test:1", "k-open", {"a": 1})
        with pytest.raises(DomainError) as err:
            idempotency.claim("test:1", "k-open", {"a": 1})
    assert (err.value.status, err.value.code) == (409, "request_in_progress")


def test_the_same_request_is_recognised_whatever_its_key_order_or_value_types(app):
    # A payload as a schema loads it may hold dates, and its field order may change between releases.
    with app.test_request_context():  # a key is its caller's: claims happen in a request
        first = {"when": dt.date(2026, 11, 24), "lines": [{"sku": "MUG", "quantity": 1}], "restock": True}
        reply = jsonify({"ok": True})
        reply.status_code = 201
        idempotency.store(idempotency.claim("test:2", "k-done", first), reply)
        same = {"restock": True, "lines": [{"quantity": 1, "sku": "MUG"}], "when": dt.date(2026, 11, 24)}
        assert idempotency.claim("test:2", "k-done", same).replay == ({"ok": True}, 201)
        with pytest.raises(DomainError) as err:
            idempotency.claim("test:2", "k-done", {**same, "when": dt.date(2026, 11, 25)})
        assert err.value.code == "idempotency_key_reused"


def test_a_twin_whose_first_request_gave_its_key_up_meanwhile_is_told_to_retry(app):
    """Between a twin's INSERT (it found the key taken) and its read of the first request's row, the
    first request ended in a refusal and released the key: the twin is told to retry, not a 500."""
    released = []

    def release_first(conn, cursor, statement, parameters, context, executemany):
        if not released and statement.lstrip().upper().startswith("SELECT") and "idempotent_replies" in statement:
            cursor.execute("DELETE FROM idempotent_replies WHERE key = 'k-gone'")
            released.append(statement)

    with app.test_request_context():  # a key is its caller's: claims happen in a request
        idempotency.claim("test:3", "k-gone", {"a": 1})
        event.listen(db.engine, "before_cursor_execute", release_first)
        try:
            with pytest.raises(DomainError) as err:
                idempotency.claim("test:3", "k-gone", {"a": 1})
        finally:
            event.remove(db.engine, "before_cursor_execute", release_first)
    assert len(released) == 1  # the row went between the twin's two statements
    assert (err.value.status, err.value.code) == (409, "request_in_progress") and err.value.detail
