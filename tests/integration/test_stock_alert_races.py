"""Back in stock under races, on PostgreSQL with real threads: no subscriber who was told "not in
stock" is forgotten by a receipt that lands at the same moment."""

from __future__ import annotations

from collections import Counter

import pytest

from notifications.models import Message
from notifications.stock_alert_models import StockAlert
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.concurrency import hammer

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("round_", range(3))
def test_subscriptions_racing_a_receipt_are_each_refused_or_told_once(app, wide_app, round_):
    store, mug = f.store(), f.product(sku="MUG")
    f.stock(store, mug, 0)
    staff = {**f.bearer(f.user("staff", [store])), "X-Store-ID": str(store.id)}
    db.session.commit()
    alerts = [("POST", f"/api/v1/stores/{store.id}/stock-alerts", {"sku": "MUG", "email": f"s{i}@example.com"}, {})
              for i in range(50)]
    receipt = ("POST", f"/api/v1/stores/{store.id}/stock-events",
               {"event_id": f"receipt-{round_}", "type": "receipt", "lines": [{"sku": "MUG", "quantity": 2}]}, staff)
    calls = [receipt] + alerts
    results = hammer(wide_app, calls)
    statuses = Counter(status for status, _ in results)
    assert set(statuses) <= {201, 409}, statuses
    subscribed = {body["id"] for status, body in results if status == 201 and "sku" in body}
    db.session.expire_all()
    waiting = db.session.scalars(db.select(StockAlert.id).where(StockAlert.status == "waiting")).all()
    assert waiting == []  # every alert that was accepted has been told
    messages = db.session.scalars(db.select(Message).where(Message.template == "back_in_stock")).all()
    assert sorted(m.dedupe_key.split(":")[1] for m in messages) == sorted(subscribed)
