"""Data rights over what marketing's pieces hold: stock alerts, keyword opt-ins, feedback comments."""

from __future__ import annotations

from sqlalchemy import select

from notifications.sms_keyword_models import SmsKeywordOptin
from notifications.stock_alert_models import StockAlert
from shop.accounts.models import User
from shop.core.extensions import db
from shop.orders.models import OrderFeedback
from tests.support import factories as f
from tests.support.api import sign_in
from tests.support.pickup import picked_up
from tests.support.twilio_inbound import AUTH_TOKEN, text

PHONE, PASSWORD = "+14155550142", "ann-password"


def test_export_shows_and_erasure_removes_alerts_opt_ins_and_comments(client, store_world, app, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://shop.example.com")
    monkeypatch.setitem(app.config, "SMS_KEYWORDS", "SPRING=percent:10:7")
    gone = f.product(sku="GONE")
    user = f.user(email="ann@example.com", password=PASSWORD)
    db.session.commit()
    ann = sign_in(client)
    order = picked_up(client, store_world, [("MUG", 1)], headers=ann, email=None)["order"]
    comment = "Ask for Sam at the counter, he knows my dog Biscuit."
    assert client.post(f"/api/v1/orders/{order['id']}/feedback", json={"rating": 5, "comment": comment},
                       headers=ann).status_code == 201
    db.session.get(User, user.id).phone = PHONE
    db.session.commit()
    store = store_world["store"]
    for body in ({}, {"phone": PHONE}):
        assert client.post(f"/api/v1/stores/{store.id}/stock-alerts", json={"sku": gone.sku, **body},
                           headers=ann).status_code == 201
    text(client, app, "SPRING", PHONE)
    text(client, app, "Y", PHONE)

    data = client.get("/api/v1/me/export", headers=ann).get_json()
    assert sorted((a["channel"], a["to"]) for a in data["stock_alerts"]) == [("email", "ann@example.com"),
                                                                           ("sms", PHONE)]
    assert [(o["keyword"], o["status"]) for o in data["sms_keyword_optins"]] == [("SPRING", "confirmed")]
    assert [(fb["rating"], fb["comment"]) for fb in data["order_feedback"]] == [(5, comment)]

    assert client.delete("/api/v1/me", json={"password": PASSWORD}, headers=ann).status_code == 200
    assert db.session.scalars(select(StockAlert)).all() == []
    assert db.session.scalars(select(SmsKeywordOptin)).all() == []
    feedback = db.session.scalars(select(OrderFeedback)).one()
    assert (feedback.rating, feedback.comment, feedback.customer_id) == (5, None, None)
    assert db.session.get(User, user.id).erased_at is not None
