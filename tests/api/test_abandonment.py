"""The abandonment sweep on its own: which carts it signals (lines, a contact, idle long enough),
once per idle spell, and the batch read agreeing with the cart read."""

from __future__ import annotations

import datetime as dt

from shop.carts import abandonment, snapshot
from shop.core import events
from shop.core.extensions import db
from tests.support.carts import add
from tests.support.clock import frozen_clock  # noqa: F401 - fixture
from tests.support.orders import cart_for
from tests.support.signals import captured


def test_only_idle_carts_with_lines_and_a_contact_are_signalled_once_per_idle_spell(client, store_world,
                                                                                    frozen_clock):  # noqa: F811
    with_email = cart_for(client, store_world["store"], email="ann@example.com")
    no_contact = cart_for(client, store_world["store"], email=None)
    empty = client.post("/api/v1/carts", json={"pickup_store_id": store_world["store"].id}).get_json()["id"]
    client.patch(f"/api/v1/carts/{empty}", json={"email": "empty@example.com"})
    assert snapshot.load_many([with_email, no_contact, empty, "missing"]) == {
        cart_id: snapshot.load(cart_id) for cart_id in (with_email, no_contact, empty)}

    frozen_clock.advance(minutes=59)
    assert abandonment.sweep() == 0
    frozen_clock.advance(minutes=2)
    with captured(events.carts_abandoned) as signals:
        assert abandonment.sweep() == 3  # all three looked at ...
        assert abandonment.sweep() == 0  # ... once
    [[signal]] = [sent["carts"] for sent in signals]  # ... one signalled, in one batch
    assert (signal["cart_id"], signal["email"], signal["line_count"], signal["subtotal"]) == (
        with_email, "ann@example.com", 2, 2900)
    assert signal["idle_since"] == frozen_clock.now - dt.timedelta(minutes=61)

    assert add(client, with_email, "TEA", 1).status_code == 200  # touched: a new idle spell
    frozen_clock.advance(hours=1, minutes=1)
    with captured(events.carts_abandoned) as signals:
        assert abandonment.sweep() == 1
    [[signal]] = [sent["carts"] for sent in signals]
    assert (signal["line_count"], signal["subtotal"]) == (2, 3400)
    db.session.rollback()
