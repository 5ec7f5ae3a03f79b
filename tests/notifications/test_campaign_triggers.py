"""The back_in_stock and sms_keyword triggers, as the shopper's inbox and phone see them, with a
frozen clock: a subscriber told of a SKU's return is followed up two days later only with marketing
consent, an order by them ends it, a SKU sold out again skips the step; a number that confirmed an
advert's keyword gets the reminder of that keyword's campaign only. The alert and the code stay as
they were (one transactional message; one code)."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from inventory.models import Product
from notifications.sms_keyword_models import SmsKeywordOptin
from notifications.stock_alert_models import StockAlert
from shop.carts.models import Coupon
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.campaigns import enrolments, grant, launch, marketer, runs, tick
from tests.support.carts import problem
from tests.support.messages import outbox
from tests.support.orders import cart_for, checkout
from tests.support.twilio_inbound import text

NEW_YORK = ZoneInfo("America/New_York")
DAY = 24 * 60
KEEN, SHY = "keen@example.com", "shy@example.com"
PHONE = "+14155550123"
FOLLOW_UP = [{"delay_minutes": 2 * DAY, "channel": "email", "template": "back_in_stock_follow_up"}]


@pytest.fixture
def vase_awaited(client, store_world, morning):
    """A vase out of stock at NYC, two guests waiting for it (one agreed to offers by email), and an
    active back_in_stock campaign: "still want it?" two days after they were told."""
    store = store_world["store"]
    f.stock(store, f.product(sku="VASE", name="Glass vase", price=3000), 0)
    db.session.commit()
    for email in (KEEN, SHY):
        resp = client.post(f"/api/v1/stores/{store.id}/stock-alerts", json={"sku": "VASE", "email": email})
        assert resp.status_code == 201, resp.get_json()
    grant("email", email=KEEN)
    campaign_id = launch(client, marketer(), "back_in_stock", FOLLOW_UP, exit_on=["order_placed", "unsubscribed"])
    return {**store_world, "campaign_id": campaign_id}


def stock_event(client, world, type_: str, quantity: int) -> None:
    resp = client.post(f"/api/v1/stores/{world['store'].id}/stock-events",
                       json={"event_id": uuid.uuid4().hex, "type": type_, "lines": [{"sku": "VASE", "quantity": quantity}]},
                       headers={**world["staff"], "X-Store-ID": str(world["store"].id)})
    assert resp.status_code == 201, resp.get_json()


def follow_ups(smtp_server, to: str) -> list:
    return [mail for mail in smtp_server.to(to) if mail["Subject"].startswith("Still want")]


def test_a_told_subscriber_with_consent_is_followed_up_two_days_later(client, vase_awaited, morning, smtp_server):
    stock_event(client, vase_awaited, "receipt", 3)
    tick()
    # The alert itself as before: both told, once, transactional
    assert sorted(m.to_address for m in outbox(template="back_in_stock")) == [KEEN, SHY]
    assert {m.purpose for m in outbox(template="back_in_stock")} == {"transactional"}
    # Only the one who agreed to offers enters the campaign
    [enrolment] = enrolments(vase_awaited["campaign_id"])
    alert = db.session.scalar(select(StockAlert).where(StockAlert.address == KEEN))
    assert (enrolment.subject, enrolment.contact) == (f"stock_alert:{alert.id}", f"email:{KEEN}")
    assert (enrolment.facts["sku"], enrolment.facts["name"], enrolment.facts["store_name"]) == (
        "VASE", "Glass vase", vase_awaited["store"].name)

    morning.advance(days=1, hours=23)
    tick()
    assert follow_ups(smtp_server, KEEN) == []  # not two days yet
    morning.advance(hours=1, minutes=1)
    tick()
    [mail] = follow_ups(smtp_server, KEEN)
    body = mail.get_body(("plain",)).get_content()
    assert mail["Subject"] == "Still want Glass vase?"
    assert f"It is in stock at {vase_awaited['store'].name} now" in body and mail["List-Unsubscribe"]
    assert follow_ups(smtp_server, SHY) == []
    [enrolment] = enrolments(vase_awaited["campaign_id"])
    assert (enrolment.status, enrolment.reason) == ("completed", "all_steps_taken")


def test_an_order_by_that_guest_ends_the_follow_up(client, vase_awaited, morning, smtp_server):
    stock_event(client, vase_awaited, "receipt", 3)
    morning.advance(hours=5)
    cart_id = cart_for(client, vase_awaited["store"], lines=(("MUG", 1),), email="KEEN@example.com")
    assert checkout(client, cart_id, sms_updates=False).status_code == 201  # another cart, the same email
    [enrolment] = enrolments(vase_awaited["campaign_id"])
    assert (enrolment.status, enrolment.reason) == ("exited", "order_placed")
    morning.advance(days=3)
    tick()
    assert follow_ups(smtp_server, KEEN) == []


def test_sold_out_again_skips_the_step_and_a_withdrawn_product_ends_it(client, vase_awaited, morning, smtp_server):
    stock_event(client, vase_awaited, "receipt", 1)
    stock_event(client, vase_awaited, "sale", 1)
    morning.advance(days=2, minutes=1)
    tick()
    assert follow_ups(smtp_server, KEEN) == []
    [enrolment] = enrolments(vase_awaited["campaign_id"])
    assert [(r.outcome, r.reason) for r in runs(enrolment.id)] == [("skipped", "sold_out")]
    report = client.get(f"/api/v1/campaigns/{vase_awaited['campaign_id']}/report", headers=marketer())
    assert report.get_json()["steps"][0]["skipped"] == {"sold_out": 1}

    # Waiting again, told again; then the vase is withdrawn from the catalog before the step
    later = launch(client, marketer(), "back_in_stock", FOLLOW_UP)
    db.session.execute(db.update(StockAlert).values(status="waiting"))
    db.session.commit()
    stock_event(client, vase_awaited, "receipt", 1)
    [entered] = enrolments(later)
    db.session.execute(db.update(Product).where(Product.sku == "VASE").values(active=False))
    db.session.commit()
    morning.advance(days=2, minutes=1)
    tick()
    [entered] = enrolments(later)
    assert (entered.status, entered.reason) == ("exited", "product_gone")
    assert follow_ups(smtp_server, KEEN) == []


# SMS keywords


@pytest.fixture
def keywords(app, monkeypatch, morning, twilio_standin):
    """The adverts' keywords; texts in signed with the stand-in's token (the one the app holds)."""
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://shop.example.com")
    monkeypatch.setitem(app.config, "SMS_KEYWORDS", "SPRING=percent:15:7, TENOFF=fixed:1000:USD:14")
    monkeypatch.setitem(app.config, "BRAND_NAME", "Corner Shop")
    return app


def say(client, app, body: str) -> str | None:
    """Text `body` from PHONE to our number; our reply, if any."""
    return reply(text(client, app, body, PHONE, token=app.config["SMS_TWILIO_AUTH_TOKEN"]))


def reply(resp) -> str | None:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    messages = [m.text for m in ET.fromstring(resp.data).iter("Message")]  # noqa: S314 - our own reply
    return messages[0] if messages else None


REMINDER = [{"delay_minutes": 5 * DAY, "channel": "sms", "template": "keyword_coupon_reminder"}]


def test_a_confirmed_keyword_enrols_the_number_in_that_keywords_campaign(client, keywords, morning,
                                                                         twilio_standin):
    headers = marketer()
    spring = launch(client, headers, "sms_keyword", REMINDER, audience={"keyword": "spring"})
    tenoff = launch(client, headers, "sms_keyword", REMINDER, audience={"keyword": "TENOFF"})
    any_keyword = launch(client, headers, "sms_keyword", REMINDER, exit_on=["unsubscribed"])

    say(client, keywords, "SPRING")
    assert enrolments() == []  # the prompt agrees to nothing yet
    code_text = say(client, keywords, "Y")
    coupon = db.session.scalar(select(Coupon).where(Coupon.batch == "sms:SPRING"))
    optin = db.session.scalar(select(SmsKeywordOptin))
    assert coupon.code in code_text
    entered = {e.campaign_id: e for e in enrolments()}
    assert set(entered) == {spring, any_keyword} and tenoff not in entered
    assert entered[spring].subject == f"sms_keyword:{optin.id}" and entered[spring].contact == f"sms:{PHONE}"
    assert (entered[spring].facts["keyword"], entered[spring].facts["coupon_code"]) == ("SPRING", coupon.code)
    say(client, keywords, "Y")  # Y again: the same code, no second enrolment
    assert len(enrolments()) == 2

    morning.advance(days=5, minutes=1)
    tick()
    [reminder] = [t["Body"] for t in twilio_standin.to(PHONE)]  # two queued; the cap: one marketing text a day
    assert coupon.code in reminder and "(SPRING) is still good until Tuesday 1 December" in reminder
    assert len(outbox(template="keyword_coupon_reminder")) == 2


def test_a_number_that_texted_stop_gets_no_reminder(client, keywords, morning, twilio_standin):
    campaign = launch(client, marketer(), "sms_keyword", REMINDER, audience={"keyword": "SPRING"})
    say(client, keywords, "SPRING")
    say(client, keywords, "Y")
    say(client, keywords, "STOP")
    morning.advance(days=5, minutes=1)
    tick()
    assert twilio_standin.to(PHONE) == []
    [enrolment] = enrolments(campaign)
    assert (enrolment.status, enrolment.reason) == ("exited", "unsubscribed")


@pytest.mark.parametrize(("trigger", "audience"), [
    ("cart_abandoned", {"keyword": "SPRING"}),  # only a keyword campaign has a keyword
    ("sms_keyword", {"keyword": "no way!"}),
    ("sms_keyword", {"keyword": "S"}),
    ("back_in_stock", {"min_cart_value": 1000}),  # no cart value to compare
    ("sms_keyword", {"store_ids": [1]}),  # a number texting a keyword is at no store
])
def test_an_audience_its_trigger_cannot_match_is_refused(client, app, trigger, audience):
    headers = marketer()
    body = {"name": "Never", "trigger": trigger, "steps": REMINDER, "audience": audience}
    assert problem(client.post("/api/v1/campaigns", json=body, headers=headers)) == (422, "validation_error")


def test_a_keyword_added_to_a_draft_of_another_trigger_is_refused(client, app):
    headers = marketer()
    draft = client.post("/api/v1/campaigns", json={"name": "Back", "trigger": "back_in_stock", "steps": FOLLOW_UP},
                        headers=headers).get_json()
    url = f"/api/v1/campaigns/{draft['id']}"
    assert problem(client.patch(url, json={"audience": {"keyword": "SPRING"}}, headers=headers)) == (
        422, "validation_error")
    assert client.get(url, headers=headers).get_json()["audience"].get("keyword") is None


def test_a_keyword_from_a_customers_number_enrols_the_customer_and_their_order_ends_it(
        client, keywords, morning, twilio_standin, store_world):
    campaign = launch(client, marketer(), "sms_keyword", REMINDER, exit_on=["order_placed", "unsubscribed"])
    ann = f.user(email="ann@example.com")
    ann.phone = PHONE
    db.session.commit()
    say(client, keywords, "SPRING")
    say(client, keywords, "Y")
    [enrolment] = enrolments(campaign)
    assert (enrolment.contact, enrolment.customer_id) == (f"customer:{ann.id}", ann.id)

    morning.advance(days=1)  # she changes her number, then orders signed in: the reminder is moot
    ann.phone = "+14155550188"
    db.session.commit()
    cart_id = cart_for(client, store_world["store"], lines=(("MUG", 1),), headers=f.bearer(ann), email=None)
    assert checkout(client, cart_id, headers=f.bearer(ann), sms_updates=False).status_code == 201
    [enrolment] = enrolments(campaign)  # ended by her account, whatever number the order has
    assert (enrolment.status, enrolment.reason) == ("exited", "order_placed")
    morning.advance(days=5)
    tick()
    assert twilio_standin.to(PHONE) == []
