"""What a checkout reads and writes: the store's hours and exceptions in one read, and its count of statements."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from shop.core.clock import clock
from shop.core.extensions import db
from stores.models import OpeningException
from tests.support.orders import cart_for, checkout
from tests.support.statement_count import statements

NEW_YORK = ZoneInfo("America/New_York")


def test_the_promise_keeps_to_the_stores_exceptions(client, store_world, monkeypatch):
    # Open 9-21 every day; ordered at 20:45 the next opening would be 9:00 tomorrow, but tomorrow
    # the store is closed and the day after it opens 12-14 only: the order is promised for 12:30.
    evening = dt.datetime.now(NEW_YORK).replace(hour=20, minute=45, second=0, microsecond=0)
    day = evening.date()
    store_world["store"].exceptions = [
        OpeningException(date=day + dt.timedelta(days=1), opens=None, closes=None, note="Closed"),
        OpeningException(date=day + dt.timedelta(days=2), opens=dt.time(12), closes=dt.time(14), note="Short"),
    ]
    db.session.commit()
    cart_id = cart_for(client, store_world["store"])
    db.session.expunge_all()  # the checkout reads the store (hours and exceptions) from the database
    monkeypatch.setattr(clock, "now", lambda: evening.astimezone(dt.UTC))
    resp = checkout(client, cart_id)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    promised = dt.datetime.fromisoformat(resp.get_json()["order"]["promised_at"]).astimezone(NEW_YORK)
    assert (promised.date(), promised.time()) == (day + dt.timedelta(days=2), dt.time(12, 30))


@pytest.mark.postgres
def test_a_guests_checkout_paid_at_the_store_is_4_statements(client, store_world):
    # The cart's bump (which marks it converted) with its read and the pickup store with its hours
    # (one statement, shop.carts.snapshot.after), the order with its lines (one statement,
    # shop.orders.order_rows), the hold (one statement), and the order's hold id, the cart's and the
    # order's events, the "placed" message and the reply, which claims the Idempotency-Key (paid at
    # the store: shop.core.transactions._claimed_last), as one statement with the campaigns' check as
    # its main query (shop.core.appends). A new statement on this path costs every checkout
    # a round trip: docs/performance.md.
    cart_id = cart_for(client, store_world["store"])
    db.session.expunge_all()
    with statements() as seen:
        assert checkout(client, cart_id).status_code == 201
    assert len(seen) <= 4, "\n".join(seen)
