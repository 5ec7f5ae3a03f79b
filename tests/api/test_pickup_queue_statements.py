"""The pickup queue costs the same number of statements for 2 orders as for 8, at-risk lines and all."""

from __future__ import annotations

from shop.core.extensions import db
from tests.support import factories as f
from tests.support.orders import cart_for, checkout
from tests.support.statement_count import statements


def queue_of(client, orders: int) -> tuple[list[dict], int]:
    """A store with `orders` orders whose TEA a stock count put at risk: its queue, and what it cost."""
    store = f.store()
    tea = f.product()
    f.stock(store, tea, orders)
    staff = f.bearer(f.user("staff", [store]))
    for _ in range(orders):
        cart_id = cart_for(client, store, lines=((tea.sku, 1),))
        assert checkout(client, cart_id).status_code == 201
    count = {"event_id": "count-1", "type": "count", "lines": [{"sku": tea.sku, "quantity": 0}]}
    assert client.post(f"/api/v1/stores/{store.id}/stock-events", json=count, headers=staff).status_code == 201
    db.session.expunge_all()  # the queue reads from the database, not from what the setup left loaded
    with statements() as seen:
        resp = client.get(f"/api/v1/stores/{store.id}/orders", headers=staff)
    assert resp.status_code == 200
    return [(order["at_risk_skus"], tea.sku) for order in resp.get_json()], len(seen)


def test_the_queue_does_not_grow_a_statement_per_order(client, app):
    few, cost_of_few = queue_of(client, 2)
    many, cost_of_many = queue_of(client, 8)
    assert len(few) == 2 and len(many) == 8
    assert all(at_risk == [sku] for at_risk, sku in few + many)
    assert cost_of_many == cost_of_few
