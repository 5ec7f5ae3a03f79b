"""The pickup story over HTTP, as the shopper's inbox and phone see it: placed, ready, reminder, no-show;
and the other order messages: receipt, cancellation, refund, and a reminder made moot by the pickup."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from zoneinfo import ZoneInfo

import pytest
import segno

from notifications.delivery import deliver_due
from shop.core.extensions import db
from shop.orders import sweeps as order_sweeps
from tests.support.messages import outbox
from tests.support.pickup import make_ready, place, ready_order

NEW_YORK = ZoneInfo("America/New_York")
PHONE = "+14155550123"


@pytest.fixture
def morning(frozen_clock):
    frozen_clock.set(dt.datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK))  # a Tuesday; the store opens 9-21
    return frozen_clock


@pytest.fixture
def shopper(client):
    body = {"email": "sam@example.com", "password": "password-123", "name": "Sam", "phone": PHONE}
    assert client.post("/api/v1/customers", json=body).status_code == 202
    token = client.post("/api/v1/auth/tokens", json={"email": body["email"], "password": body["password"]})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    return {"id": client.get("/api/v1/me", headers=headers).get_json()["id"], "email": body["email"], "headers": headers}


def mails(smtp_server, subject_part: str) -> list:
    return [m for m in smtp_server.to("sam@example.com") if subject_part in m["Subject"]]


def text_of(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def test_placed_ready_reminder_no_show(client, app, store_world, morning, shopper, smtp_server, twilio_standin):
    placed = place(client, store_world, headers=shopper["headers"], email=shopper["email"], phone=PHONE,
                   sms_updates=True)
    number, code = placed["order"]["number"], placed["pickup_code"]
    deliver_due()

    [confirmation] = mails(smtp_server, f"Order {number}: we are preparing it")
    assert f"Show this code at the counter: {code}" in text_of(confirmation)
    related = confirmation.get_body(("related",))  # the HTML and the images it shows
    [qr] = [part for part in related.iter_parts() if part.get_content_type() == "image/png"]
    expected = io.BytesIO()
    segno.make(placed["pickup_qr"], error="m").save(expected, kind="png", scale=6, border=2)
    assert qr.get_content() == expected.getvalue()
    assert f'src="cid:{qr["Content-ID"].strip("<>")}"' in related.get_body(("html",)).get_content()
    assert twilio_standin.accepted == []  # no text for a placed order

    make_ready(client, store_world, placed["order"]["id"])
    deliver_due()
    [ready] = mails(smtp_server, f"Order {number} is ready for pickup")
    assert code in text_of(ready) and "Thursday 26 November, 21:00" in text_of(ready)
    [text] = twilio_standin.to(PHONE)
    assert number in text["Body"] and code in text["Body"]

    morning.set(dt.datetime(2026, 11, 26, 10, 0, tzinfo=NEW_YORK))  # within a day of the 21:00 deadline
    assert order_sweeps.send_reminders() == 1
    db.session.commit()
    deliver_due()
    [reminder] = mails(smtp_server, f"Reminder: order {number}")
    assert code in text_of(reminder)
    assert len(twilio_standin.to(PHONE)) == 2 and "reminder" in twilio_standin.to(PHONE)[1]["Body"]

    morning.set(dt.datetime(2026, 11, 26, 21, 1, tzinfo=NEW_YORK))
    assert order_sweeps.expire_no_shows() == 1
    db.session.commit()
    deliver_due()
    [expired] = mails(smtp_server, f"Order {number} has expired")
    assert "was not collected" in text_of(expired)
    assert len(smtp_server.to("sam@example.com")) == 5  # verification, placed, ready, reminder, expired

    timeline = client.get("/api/v1/me/timeline", headers=shopper["headers"]).get_json()["items"]
    sent = [e for e in timeline if e["type"] == "message.sent"]
    assert sorted(e["channel"] for e in sent) == ["email"] * 5 + ["sms"] * 2
    assert any(number in e["summary"] for e in sent)


def test_receipt_after_pickup_and_the_reminder_it_made_moot(client, app, store_world, morning, shopper, smtp_server,
                                                            twilio_standin):
    placed = ready_order(client, store_world, headers=shopper["headers"], email=shopper["email"], phone=PHONE,
                         sms_updates=True)
    order_id, number = placed["order"]["id"], placed["order"]["number"]
    deliver_due()
    morning.set(dt.datetime(2026, 11, 26, 10, 0, tzinfo=NEW_YORK))
    order_sweeps.send_reminders()
    db.session.commit()
    handed = client.post(f"/api/v1/orders/{order_id}/handover", json={"pickup_code": placed["pickup_code"]},
                         headers=store_world["staff"])
    assert handed.status_code == 200
    deliver_due()  # the reminder was queued before the pickup, and is delivered after it
    assert mails(smtp_server, "Reminder") == [] and len(twilio_standin.to(PHONE)) == 1
    assert {(m.channel, m.status, m.reason) for m in outbox(template="pickup_reminder")} == {
        ("email", "skipped", "order_closed"), ("sms", "skipped", "order_closed")}
    [receipt] = mails(smtp_server, f"Your receipt for order {number}")
    assert "Paid at the store: $29.00" in text_of(receipt)

    line = placed["order"]["lines"][0]
    refund = client.post(f"/api/v1/orders/{order_id}/refunds", json={"lines": [{"line_id": line["id"], "quantity": 1}],
                         "restock": True}, headers={**store_world["staff"], "Idempotency-Key": uuid.uuid4().hex})
    assert refund.status_code == 201
    deliver_due()
    [refunded] = mails(smtp_server, f"Refund for order {number}")
    assert "We refunded $12.00" in text_of(refunded)


def test_a_cancelled_order_mail_and_no_ready_message_for_it(client, app, store_world, morning, shopper, smtp_server):
    placed = place(client, store_world, headers=shopper["headers"], email=shopper["email"], sms_updates=False)
    cancelled = client.post(f"/api/v1/orders/{placed['order']['id']}/cancel", json={"reason": "Changed my mind"},
                            headers=shopper["headers"])
    assert cancelled.status_code == 200
    deliver_due()
    [mail] = mails(smtp_server, "is cancelled")
    assert "Changed my mind" in text_of(mail) and "You owe nothing." in text_of(mail)
    assert mails(smtp_server, "we are preparing it") == []  # the order closed before its confirmation went
