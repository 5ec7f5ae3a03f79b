"""The abandoned-cart campaign as the shopper's inbox and phone see it, with a frozen clock: three
steps on a guest cart and on a customer cart, delivered through the outbox to SMTP and the Twilio
stand-in; the exit on an order between steps; a step skipped on withdrawn consent; quiet hours
holding the text; the cool-down stopping re-entry."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from shop.carts.models import Coupon
from shop.core.extensions import db
from tests.support.campaigns import demo_campaign, enrolments, grant, marketer, recovery_path, runs, tick
from tests.support.carts import add, sign_in
from tests.support.messages import outbox
from tests.support.orders import cart_for, checkout

NEW_YORK = ZoneInfo("America/New_York")
EMAIL, PHONE = "gail@example.com", "+14155550188"


@pytest.fixture
def guest_cart(client, store_world, morning):
    cart_id = cart_for(client, store_world["store"], email=EMAIL)
    assert client.patch(f"/api/v1/carts/{cart_id}", json={"phone": PHONE}).status_code == 200
    return cart_id


def plain(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def test_three_steps_on_a_guest_cart(client, app, guest_cart, morning, smtp_server, twilio_standin):
    campaign_id = demo_campaign()
    grant("email", email=EMAIL)
    grant("sms", phone=PHONE)

    morning.advance(minutes=59)
    assert tick()["abandoned"] == 0  # not idle an hour yet
    morning.advance(minutes=2)
    tick()
    [first] = smtp_server.to(EMAIL)
    assert first["Subject"] == "You left something in your cart"
    assert "2 x " in plain(first) and "1 x " in plain(first)
    assert "Subtotal: $29.00" in plain(first) and first["List-Unsubscribe"]
    link = next(word for word in plain(first).split() if "/carts/recover/" in word)
    assert client.get(recovery_path(link)).get_json()["cart_id"] == guest_cart

    morning.advance(hours=23)  # Wednesday 11:01, 24 h after the cart went idle
    tick()
    [text] = twilio_standin.to(PHONE)
    assert "your cart for pickup at" in text["Body"] and "/carts/recover/" in text["Body"]

    morning.advance(hours=48)  # Friday: the coupon email
    tick()
    third = smtp_server.to(EMAIL)[-1]
    assert third["Subject"] == "10% off your cart, for 7 days"
    coupon = db.session.scalar(select(Coupon).where(Coupon.batch == f"campaign-{campaign_id}"))
    assert coupon.single_use and coupon.value == 10 and coupon.code in plain(third)
    assert coupon.ends_at - coupon.starts_at == dt.timedelta(days=7)
    [enrolment] = enrolments(campaign_id)
    assert (enrolment.status, enrolment.reason) == ("completed", "all_steps_taken")
    assert [(r.channel, r.outcome) for r in runs(enrolment.id)] == [("email", "sent"), ("sms", "sent"),
                                                                    ("email", "sent")]
    assert len(smtp_server.to(EMAIL)) == 2 and len(twilio_standin.to(PHONE)) == 1


def test_three_steps_on_a_customer_cart_text_only_with_consent(client, app, store_world, morning, smtp_server,
                                                               twilio_standin):
    body = {"email": "cora@example.com", "password": "password-123", "name": "Cora", "phone": PHONE}
    assert client.post("/api/v1/customers", json=body).status_code == 202
    headers = sign_in(client, body["email"], body["password"])
    customer_id = client.get("/api/v1/me", headers=headers).get_json()["id"]
    cart_for(client, store_world["store"], headers=headers, email=None)
    campaign_id = demo_campaign()
    grant("email", email=body["email"], customer_id=customer_id)  # offers by email, not by text

    for hours in (1, 23, 48):
        morning.advance(hours=hours, minutes=1)
        tick()
    mails = smtp_server.to(body["email"])
    assert [m["Subject"] for m in mails if "cart" in m["Subject"]] == [
        "You left something in your cart", "10% off your cart, for 7 days"]
    assert twilio_standin.to(PHONE) == []
    [enrolment] = enrolments(campaign_id)
    assert enrolment.customer_id == customer_id and enrolment.contact == f"customer:{customer_id}"
    assert [(r.outcome, r.reason) for r in runs(enrolment.id)] == [
        ("sent", None), ("skipped", "no_marketing_consent"), ("sent", None)]


def test_an_order_between_steps_ends_the_enrolment(client, app, guest_cart, morning, smtp_server, twilio_standin):
    campaign_id = demo_campaign()
    grant("email", email=EMAIL)
    grant("sms", phone=PHONE)
    morning.advance(hours=1, minutes=1)
    tick()
    assert len(smtp_server.to(EMAIL)) == 1

    morning.advance(hours=2)
    placed = checkout(client, guest_cart, sms_updates=False)
    assert placed.status_code == 201, placed.get_json()
    [enrolment] = enrolments(campaign_id)
    assert (enrolment.status, enrolment.reason) == ("exited", "order_placed")

    morning.advance(days=4)
    tick()
    assert twilio_standin.to(PHONE) == []
    assert [m["Subject"] for m in smtp_server.to(EMAIL) if "cart" in m["Subject"]] == [
        "You left something in your cart"]


def test_withdrawn_consent_skips_the_step_and_says_why(client, app, guest_cart, morning, smtp_server,
                                                       twilio_standin):
    campaign_id = demo_campaign()
    grant("email", email=EMAIL)
    grant("sms", phone=PHONE)
    morning.advance(hours=1, minutes=1)
    tick()
    grant("sms", phone=PHONE, state="withdrawn")
    morning.advance(hours=23)
    tick()
    morning.advance(hours=48)
    tick()
    assert twilio_standin.to(PHONE) == []
    [enrolment] = enrolments(campaign_id)
    assert [(r.outcome, r.reason) for r in runs(enrolment.id)] == [
        ("sent", None), ("skipped", "unsubscribed"), ("sent", None)]
    report = client.get(f"/api/v1/campaigns/{campaign_id}/report", headers=marketer())
    assert report.get_json()["steps"][1]["skipped"] == {"unsubscribed": 1}


def test_quiet_hours_hold_the_text_until_morning(client, app, store_world, frozen_clock, smtp_server,
                                                 twilio_standin):
    frozen_clock.set(dt.datetime(2026, 11, 24, 20, 30, tzinfo=NEW_YORK))  # the cart goes idle at 20:30
    cart_id = cart_for(client, store_world["store"], email=EMAIL)
    client.patch(f"/api/v1/carts/{cart_id}", json={"phone": PHONE})
    demo_campaign()
    grant("email", email=EMAIL)
    grant("sms", phone=PHONE)
    frozen_clock.advance(hours=1, minutes=1)
    tick()
    frozen_clock.advance(hours=23)  # Wednesday 20:31: the text is due, but offers wait until 09:00
    tick()
    assert twilio_standin.to(PHONE) == []
    [held] = outbox(channel="sms")
    assert (held.status, held.reason) == ("held", "quiet_hours")
    assert held.due_at == dt.datetime(2026, 11, 26, 9, 0, tzinfo=NEW_YORK)
    frozen_clock.set(dt.datetime(2026, 11, 26, 9, 1, tzinfo=NEW_YORK))
    tick()
    assert len(twilio_standin.to(PHONE)) == 1


def test_the_cool_down_stops_re_entry(client, app, guest_cart, morning, smtp_server, twilio_standin):
    campaign_id = demo_campaign()
    grant("email", email=EMAIL)
    morning.advance(hours=1, minutes=1)
    tick()
    for hours in (23, 48):
        morning.advance(hours=hours)
        tick()
    assert enrolments(campaign_id)[0].status == "completed"

    morning.advance(days=1)  # day 4: back, then gone again
    assert add(client, guest_cart, "TEA", 1).status_code == 200
    morning.advance(hours=2)
    assert tick()["abandoned"] == 1  # signalled again (a new idle spell) ...
    assert len(enrolments(campaign_id)) == 1  # ... but within the 7-day cool-down

    morning.advance(days=4)  # day 8
    assert add(client, guest_cart, "TEA", 1).status_code == 200
    morning.advance(hours=2)
    tick()
    assert [e.status for e in enrolments(campaign_id)] == ["completed", "active"]



def test_a_paused_campaign_holds_its_enrolments_and_an_emptied_cart_exits(client, app, guest_cart, morning,
                                                                           smtp_server, twilio_standin):
    campaign_id = demo_campaign()
    grant("email", email=EMAIL)
    grant("sms", phone=PHONE)
    morning.advance(hours=1, minutes=1)
    tick()
    headers = marketer()
    assert client.post(f"/api/v1/campaigns/{campaign_id}/pause", headers=headers).status_code == 200
    morning.advance(hours=23)
    tick()
    assert twilio_standin.to(PHONE) == []  # due, but the campaign is paused
    assert enrolments(campaign_id)[0].next_step == 1
    assert client.post(f"/api/v1/campaigns/{campaign_id}/activate", headers=marketer()).status_code == 200
    tick()
    assert len(twilio_standin.to(PHONE)) == 1

    for sku in ("MUG", "TEA"):
        assert client.delete(f"/api/v1/carts/{guest_cart}/lines/{sku}").status_code == 200
    [enrolment] = enrolments(campaign_id)
    assert (enrolment.status, enrolment.reason) == ("exited", "cart_emptied")
