"""Recommendations: what other collected orders bought with this order's products, on a fixed history."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from shop.core import ports
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.api import sign_in
from tests.support.orders import cart_for
from tests.support.pickup import picked_up

SKUS = ("MUG", "TEA", "SPOON", "BAG", "HONEY", "PEN", "ZIP", "LID", "CUP", "KNIFE", "JAM")


@pytest.fixture
def shop(app):
    store = f.store(code="NYC")
    products = {sku: f.product(sku=sku, name=sku.title(), price=100 * (i + 1)) for i, sku in enumerate(SKUS)}
    for sku, product in products.items():
        f.stock(store, product, 1 if sku == "CUP" else 50)
    staff = f.user("staff", [store])
    f.user(email="ann@example.com", password="ann-password")
    db.session.commit()
    return {"store": store, "p": products, "staff": f.bearer(staff)}


def _history(client, shop, ann):
    """Collected orders (guests unless said), one cancelled order, then Ann's order of MUG and TEA."""
    for lines in (["MUG", "TEA"], ["MUG", "TEA", "SPOON"], ["MUG", "SPOON"], ["TEA", "HONEY", "PEN"],
                  ["MUG", "LID"], ["MUG", "CUP"], ["MUG", "BAG"], ["TEA", "BAG", "ZIP"], ["TEA", "JAM"]):
        picked_up(client, shop, [(sku, 1) for sku in lines])
    picked_up(client, shop, [("MUG", 1), ("JAM", 1)], headers=ann, email=None)  # Ann bought JAM before
    cancelled = client.post(f"/api/v1/carts/{_cart(client, shop, ['MUG', 'KNIFE'])}/checkout",
                            json={"payment_method": "pay_at_store"}, headers={"Idempotency-Key": "cancel-me"})
    client.post(f"/api/v1/orders/{cancelled.get_json()['order']['id']}/cancel", json={"reason": "test"},
                headers=shop["staff"])
    shop["p"]["LID"].active = False  # retired since
    db.session.commit()
    return picked_up(client, shop, [("MUG", 1), ("TEA", 1)], headers=ann, email=None)["order"]["id"]


def _cart(client, shop, skus):
    return cart_for(client, shop["store"], lines=[(sku, 1) for sku in skus])


def test_bought_together_ranked_by_orders_then_sku_without_what_they_own_or_cannot_buy(client, shop):
    ann = sign_in(client)
    order_id = _history(client, shop, ann)
    db.session.expire_all()
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        got = ports.ask("recommendations", order_id, 4)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 2  # the order, then the co-occurrence in one statement
    # BAG and SPOON: 2 orders each (SKU order breaks the tie); HONEY, PEN, ZIP: 1 each. Left out:
    # JAM (Ann bought it), LID (inactive), CUP (none left at the store), KNIFE (its order was cancelled).
    assert [r["sku"] for r in got] == ["BAG", "SPOON", "HONEY", "PEN"]
    assert got[0] == {"product_id": shop["p"]["BAG"].id, "sku": "BAG", "name": "Bag", "price": 400, "currency": "USD"}
    assert [r["sku"] for r in ports.ask("recommendations", order_id, 10)] == ["BAG", "SPOON", "HONEY", "PEN", "ZIP"]


def test_an_order_nobody_else_shares_a_product_with_gets_none(client, shop):
    lonely = picked_up(client, shop, [("KNIFE", 1)])["order"]["id"]
    assert ports.ask("recommendations", lonely, 4) == []
    assert ports.ask("recommendations", 10**9, 4) == []
