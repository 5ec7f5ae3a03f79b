"""Back in stock: each subscriber is told once when what a shopper can reserve at that store goes 0 -> more."""

from __future__ import annotations

import uuid

import pytest

from inventory import reservations
from notifications.delivery import deliver_due
from notifications.stock_alert_models import StockAlert
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.api import sign_in
from tests.support.messages import outbox
from tests.support.problems import assert_problem
from tests.support.twilio_inbound import AUTH_TOKEN, text

PHONE = "+14155550123"


@pytest.fixture
def shelf(app):
    here, there = f.store(code="HERE", name="Omnishop Here"), f.store(code="THERE")
    mug = f.product(sku="MUG", name="Stoneware mug")
    f.stock(here, mug, 0)
    f.stock(there, mug, 0)
    f.user(email="ann@example.com", password="ann-password")
    staff = f.user("staff", [here, there])
    db.session.commit()
    return {"here": here, "there": there, "mug": mug, "staff": f.bearer(staff)}


def subscribe(client, store, headers=None, **body):
    return client.post(f"/api/v1/stores/{store.id}/stock-alerts", json={"sku": "MUG", **body}, headers=headers or {})


def till(client, shelf, store, type_, quantity):
    resp = client.post(f"/api/v1/stores/{store.id}/stock-events",
                       json={"event_id": uuid.uuid4().hex, "type": type_, "lines": [{"sku": "MUG", "quantity": quantity}]},
                       headers={**shelf["staff"], "X-Store-ID": str(store.id)})
    assert resp.status_code == 201, resp.get_json()


def told() -> list[tuple[str, str]]:
    return sorted((m.channel, m.to_address) for m in outbox(template="back_in_stock"))


def three_subscribers(client, shelf):
    ann = sign_in(client)
    for headers, body in ((None, {"email": "Guest@Example.com"}), (ann, {}), (None, {"phone": "+1 415 555 0123"})):
        resp = subscribe(client, shelf["here"], headers, **body)
        assert resp.status_code == 201, resp.get_json()
    return [("email", "ann@example.com"), ("email", "guest@example.com"), ("sms", PHONE)]


def test_a_receipt_tells_each_subscriber_once_and_a_second_rise_tells_nobody(client, shelf):
    expected = three_subscribers(client, shelf)
    till(client, shelf, shelf["here"], "receipt", 3)
    assert told() == expected
    message = outbox(template="back_in_stock", channel="email")[0]
    assert (message.purpose, message.store_id, message.context["name"], message.context["store_name"]) == (
        "transactional", shelf["here"].id, "Stoneware mug", "Omnishop Here")
    assert {a.status for a in db.session.scalars(db.select(StockAlert))} == {"told"}
    till(client, shelf, shelf["here"], "sale", 3)  # gone again
    till(client, shelf, shelf["here"], "receipt", 5)  # and back
    assert told() == expected


def test_a_rise_at_another_store_tells_nobody(client, shelf):
    three_subscribers(client, shelf)
    till(client, shelf, shelf["there"], "receipt", 10)
    assert told() == []
    till(client, shelf, shelf["here"], "count", 1)  # a count that finds one
    assert len(told()) == 3


def test_a_hold_released_or_lapsed_brings_it_back(client, shelf, frozen_clock):
    till(client, shelf, shelf["here"], "receipt", 1)
    hold = reservations.reserve(shelf["here"].id, {shelf["mug"]: 1}, "test-hold")
    db.session.commit()
    assert subscribe(client, shelf["here"], email="first@example.com").status_code == 201
    reservations.release(hold)
    db.session.commit()
    assert told() == [("email", "first@example.com")]
    reservations.reserve(shelf["here"].id, {shelf["mug"]: 1}, "lapses")
    db.session.commit()
    assert subscribe(client, shelf["here"], email="second@example.com").status_code == 201
    frozen_clock.advance(days=30)
    reservations.release_expired()  # the sweep releases the lapsed hold
    db.session.commit()
    assert told() == [("email", "first@example.com"), ("email", "second@example.com")]


def test_less_safety_stock_brings_it_back(client, shelf):
    till(client, shelf, shelf["here"], "receipt", 2)
    url = f"/api/v1/stores/{shelf['here'].id}/stock/MUG"
    headers = {**shelf["staff"], "X-Store-ID": str(shelf["here"].id)}
    assert client.patch(url, json={"safety_stock": 2}, headers=headers).status_code == 200
    assert subscribe(client, shelf["here"], email="g@example.com").status_code == 201
    assert client.patch(url, json={"safety_stock": 1}, headers=headers).status_code == 200
    assert told() == [("email", "g@example.com")]


def test_asking_twice_gives_the_same_alert_and_a_cancelled_alert_tells_nobody(client, shelf):
    first = subscribe(client, shelf["here"], email="g@example.com").get_json()
    again = subscribe(client, shelf["here"], email="G@example.com")
    assert again.status_code == 200 and again.get_json()["id"] == first["id"]
    assert first["to"] == "g•••@example.com" and first["status"] == "waiting"
    url = f"/api/v1/stores/{shelf['here'].id}/stock-alerts/{first['id']}"
    assert_problem(client.delete(f"/api/v1/stores/{shelf['there'].id}/stock-alerts/{first['id']}"), 404,
                   "stock_alert_not_found")
    assert client.delete(url).status_code == 204
    assert client.delete(url).status_code == 204  # already cancelled: nothing more to do
    till(client, shelf, shelf["here"], "receipt", 1)
    assert told() == []


def test_what_cannot_be_subscribed(client, shelf):
    till(client, shelf, shelf["there"], "receipt", 2)
    problem = assert_problem(subscribe(client, shelf["there"], email="g@example.com"), 409, "stock_available_now")
    assert problem["available"] == 2
    assert_problem(subscribe(client, shelf["here"]), 422, "contact_required")
    assert_problem(subscribe(client, shelf["here"], email="g@example.com", phone=PHONE), 422, "validation_error")
    assert_problem(client.post(f"/api/v1/stores/{shelf['here'].id}/stock-alerts", json={"sku": "NOPE", "email": "g@x.io"}),
                   422, "unknown_sku")
    assert_problem(subscribe(client, shelf["here"], shelf["staff"], email="g@example.com"), 403, "forbidden")
    assert_problem(client.post("/api/v1/stores/999999/stock-alerts", json={"sku": "MUG", "email": "g@x.io"}),
                   404, "store_not_found")
    assert db.session.scalar(db.select(db.func.count()).select_from(StockAlert)) == 0


def test_a_text_alert_respects_a_stop_sent_after_subscribing(client, shelf, app, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://shop.example.com")
    assert subscribe(client, shelf["here"], phone=PHONE).status_code == 201
    assert subscribe(client, shelf["here"], email="g@example.com").status_code == 201
    text(client, app, "STOP", PHONE)
    till(client, shelf, shelf["here"], "receipt", 1)
    deliver_due()
    sms, = outbox(template="back_in_stock", channel="sms")
    mail, = outbox(template="back_in_stock", channel="email")
    assert (sms.status, sms.reason) == ("skipped", "sms_stopped")
    assert mail.status == "sent"
    assert_problem(subscribe(client, shelf["here"], phone=PHONE), 409, "sms_stopped")
