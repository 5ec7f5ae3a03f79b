"""The one transaction boundary: one commit per request, refusals that must be remembered are kept,
and a refusal under an Idempotency-Key never leaves the key claimed without a reply."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema
from sqlalchemy import event

from inventory.models import Stock
from shop.core.extensions import db
from shop.core.transactions import after_commit, transaction, transactional
from tests.support import factories as f
from tests.support.orders import authorize, card_order, cart_for, checkout, intent_of, stripe_unreachable
from tests.support.problems import assert_problem

ROOT = Path(__file__).resolve().parents[2]
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def on_hand(world, sku: str) -> int:
    db.session.expire_all()
    return db.session.get(Stock, (world["store"].id, world["p"][sku].id)).on_hand


def test_a_refused_refund_is_remembered_and_the_same_key_runs_it_again(client, store_world, stripe_app):
    body = card_order(client, store_world, lines=(("MUG", 1),))
    oid, staff = body["order"]["id"], store_world["staff"]
    authorize(client, stripe_app, oid)
    for step in ("picking", "ready"):
        assert client.post(f"/api/v1/orders/{oid}/{step}", headers=staff).status_code == 200
    handed = client.post(f"/api/v1/orders/{oid}/handover", json={"pickup_code": body["pickup_code"]}, headers=staff)
    assert handed.get_json()["status"] == "picked_up"
    line = body["order"]["lines"][0]["id"]

    def refund():
        return client.post(f"/api/v1/orders/{oid}/refunds", headers={**staff, "Idempotency-Key": "refund-1"},
                           json={"lines": [{"line_id": line, "quantity": 1}], "restock": True})

    with stripe_unreachable(client.application):
        failed = refund()
    assert failed.status_code == 502 and failed.get_json()["code"] == "refund_failed"
    seen = client.get(f"/api/v1/orders/{oid}", headers=staff).get_json()
    assert "Refund failed" in seen["payment_error"]  # the refusal was kept for staff to see...
    assert seen["refunded_amount"] == 0 and seen["lines"][0]["refunded_quantity"] == 0  # ...nothing else
    assert on_hand(store_world, "MUG") == 9

    done = refund()  # the same key, once Stripe answers again: the refund runs (no 409 request_in_progress)
    assert done.status_code == 201, done.get_json()
    assert done.get_json() == {"amount": 1200, "currency": "USD", "refunded_total": 1200, "restocked": True}
    again = refund()
    assert again.status_code == 201 and again.data == done.data
    refunds = stripe_app.v1.refunds.list(params={"payment_intent": intent_of(oid)})
    assert [r.amount for r in refunds.data] == [1200]
    seen = client.get(f"/api/v1/orders/{oid}", headers=staff).get_json()
    assert seen["payment_error"] is None and seen["refunded_amount"] == 1200
    assert on_hand(store_world, "MUG") == 10


def test_a_refused_checkout_takes_its_claim_with_it_and_the_same_key_runs_again(client, store_world):
    """On SQLite too: the claim's savepoint stays inside the request's transaction (shop.core.sqlite)."""
    cart_id = cart_for(client, store_world["store"], lines=(("MUG", 12),))

    def place():
        return checkout(client, cart_id, key="checkout-1")

    assert_problem(place(), 409, "insufficient_stock")  # 10 MUG on the shelf
    stock = db.session.get(Stock, (store_world["store"].id, store_world["p"]["MUG"].id))
    stock.on_hand += 5  # a delivery arrives
    db.session.commit()
    placed = place()  # the same key: it runs again (never 409 request_in_progress)
    assert placed.status_code == 201, placed.get_json()
    again = place()
    assert again.status_code == 201 and again.data == placed.data
    assert on_hand(store_world, "MUG") == 15


@pytest.fixture
def commits(app):
    """Every COMMIT the app sends to the database (a savepoint released is not one)."""
    seen: list[object] = []

    def count(connection):
        seen.append(connection)

    event.listen(db.engine, "commit", count)
    yield seen
    event.remove(db.engine, "commit", count)


def test_every_request_commits_once_refusals_that_count_included(client, store_world, commits):
    cart_id = cart_for(client, store_world["store"])
    staff = store_world["staff"]

    def count(method, path, **kw):
        before = len(commits)
        resp = client.open(f"/api/v1{path}", method=method, **kw)
        return resp, len(commits) - before

    placed, n = count("POST", f"/carts/{cart_id}/checkout", json={"payment_method": "pay_at_store"},
                      headers={"Idempotency-Key": "k1"})
    assert placed.status_code == 201 and n == 1
    oid, code = placed.get_json()["order"]["id"], placed.get_json()["pickup_code"]
    assert count("GET", f"/orders/{oid}", headers=staff)[1] == 0  # a read commits nothing
    for step in ("picking", "ready"):
        assert count("POST", f"/orders/{oid}/{step}", headers=staff)[1] == 1
    wrong, n = count("POST", f"/orders/{oid}/handover", json={"pickup_code": "000000" if code != "000000"
                                                                 else "111111"}, headers=staff)
    assert wrong.status_code == 422 and n == 1  # the attempt is counted: kept, in the one commit
    refused, n = count("POST", f"/orders/{oid}/cancel", json={"reason": "x" * 201}, headers=staff)
    assert refused.status_code == 422 and n == 0
    handed, n = count("POST", f"/orders/{oid}/handover", json={"pickup_code": code}, headers=staff)
    assert handed.get_json()["status"] == "picked_up" and n == 1


def test_no_checkpoint_where_the_key_is_claimed_by_the_last_write(app):
    # Committing half the work with no key row yet would let a twin do it all again.
    from shop.core import transactions

    with app.test_request_context(), transaction():
        token = transactions._claimed.set("last")
        try:
            with pytest.raises(RuntimeError, match="claimed by the last write"):
                transactions.checkpoint(keep_claim=True)
        finally:
            transactions._claimed.reset(token)


def test_only_the_transaction_boundary_commits():
    committing = sorted(
        str(path.relative_to(ROOT))
        for package in ("shop", "inventory", "stores", "notifications")
        for path in (ROOT / package).rglob("*.py")
        if "session.commit()" in path.read_text()
    )
    assert committing == ["shop/core/transactions.py"]


def test_every_write_endpoint_is_one_transaction(app):
    missing = []
    for endpoint, view in app.view_functions.items():
        view_class = getattr(view, "view_class", None)
        if view_class is None or not issubclass(view_class, MethodView):
            continue
        for method in view_class.methods & WRITES:
            if not getattr(getattr(view_class, method.lower()), "transactional", False):
                missing.append(f"{method} {endpoint}")
    assert missing == []


def test_transactional_refuses_a_place_where_the_commit_would_come_too_early_or_miss_the_body():
    blp = Blueprint("placement", __name__)

    def view(self, data=None):
        return {}

    with pytest.raises(TypeError, match="directly above @blp.response"):
        transactional(view)  # under @blp.response: it would commit before the reply is built
    with pytest.raises(TypeError, match="directly above @blp.response"):
        transactional(idempotent="x")(blp.arguments(Schema)(blp.response(200)(view)))  # above the body
    assert transactional(blp.response(200)(view)).transactional


def test_work_after_the_commit_runs_only_once_the_change_is_kept_and_its_failure_keeps_it(app, shelf_of_mugs,
                                                                                          caplog):
    """What a void relies on: never before the commit, never for a change rolled back, and a provider
    that fails afterwards cannot undo the change (the retry sweep takes the void up)."""
    ran = []

    def set_on_hand(value: int, then=None):
        with transaction():
            db.session.get(Stock, shelf_of_mugs).on_hand = value
            after_commit(then)

    def look():  # after the commit, in a transaction of its own: sees the change, may return the next step
        ran.append(on_hand_of(shelf_of_mugs))
        return lambda: ran.append("next")

    set_on_hand(7, look)
    assert ran == [7, "next"]
    with pytest.raises(RuntimeError), transaction():
        db.session.get(Stock, shelf_of_mugs).on_hand = 3
        after_commit(lambda: ran.append("never"))
        raise RuntimeError("the change is refused")
    assert ran == [7, "next"] and on_hand_of(shelf_of_mugs) == 7

    def broken():
        raise ConnectionError("the provider is down")

    set_on_hand(5, broken)
    assert on_hand_of(shelf_of_mugs) == 5
    assert "work after the commit failed" in caplog.text
    with pytest.raises(RuntimeError, match="needs an open transaction"):
        after_commit(look)


@pytest.fixture
def shelf_of_mugs(app):
    store, mug = f.store(), f.product(sku="MUG")
    f.stock(store, mug, 10)
    db.session.commit()
    return store.id, mug.id


def on_hand_of(key) -> int:
    db.session.expire_all()
    return db.session.get(Stock, key).on_hand
