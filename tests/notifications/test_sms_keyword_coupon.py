"""An advert's keyword by text: a double opt-in (reply Y), then one single-use coupon; STOP works as before."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from notifications import consent
from notifications.consent_models import ConsentRecord
from shop.carts.models import Coupon
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.app import make_app
from tests.support.twilio_inbound import AUTH_TOKEN, text

PHONE = "+14155550123"


@pytest.fixture
def twilio(app, monkeypatch, frozen_clock):
    monkeypatch.setitem(app.config, "SMS_TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://shop.example.com")
    monkeypatch.setitem(app.config, "SMS_KEYWORDS", "SPRING=percent:15:7, TENOFF=fixed:1000:USD:14")
    monkeypatch.setitem(app.config, "BRAND_NAME", "Corner Shop")
    return app


def reply(resp) -> str | None:
    assert resp.status_code == 200 and resp.mimetype == "text/xml"
    messages = [m.text for m in ET.fromstring(resp.data).iter("Message")]  # noqa: S314 - our own reply
    assert len(messages) <= 1
    return messages[0] if messages else None


def coupons() -> list[Coupon]:
    return list(db.session.scalars(select(Coupon).order_by(Coupon.id).execution_options(populate_existing=True)))


def keyword_grants() -> list[ConsentRecord]:
    return list(db.session.scalars(select(ConsentRecord).where(ConsentRecord.source == "sms_keyword")))


def test_keyword_then_y_agrees_to_offers_with_the_prompts_words_and_sends_one_code(client, twilio, frozen_clock):
    prompt = reply(text(client, twilio, " spring ", PHONE))
    assert prompt.startswith("Corner Shop: Reply Y to get your code and marketing texts") and "STOP" in prompt
    assert coupons() == [] and consent.allowed("sms", "marketing", phone=PHONE)[0] is False
    frozen_clock.advance(hours=2)
    answer = reply(text(client, twilio, "y", PHONE))
    coupon, = coupons()
    assert coupon.code in answer and "15% off" in answer
    assert (coupon.kind, coupon.value, coupon.single_use, coupon.batch) == ("percent", 15, True, "sms:SPRING")
    assert coupon.ends_at - coupon.starts_at == dt.timedelta(days=7)
    grant, = keyword_grants()
    assert (grant.channel, grant.purpose, grant.state, grant.address, grant.wording) == (
        "sms", "marketing", "granted", PHONE, prompt)
    assert grant.reference.startswith("twilio:SM")
    assert consent.allowed("sms", "marketing", phone=PHONE) == (True, None)
    # Y or the keyword again: the same code, nothing new
    assert reply(text(client, twilio, "Y", PHONE)) == answer
    assert reply(text(client, twilio, "SPRING", PHONE)) == answer
    assert len(coupons()) == 1 and len(keyword_grants()) == 1


def test_the_code_works_once_on_a_cart(client, twilio):
    store, mug = f.store(), f.product(sku="MUG", price=2000)
    f.stock(store, mug, 5)
    db.session.commit()
    text(client, twilio, "TENOFF", PHONE)
    answer = reply(text(client, twilio, "Y", PHONE))
    code = coupons()[0].code
    assert "$10.00 off" in answer or "10.00" in answer
    cart = client.post("/api/v1/carts", json={"pickup_store_id": store.id}).get_json()
    client.post(f"/api/v1/carts/{cart['id']}/lines", json={"sku": "MUG", "quantity": 1})
    applied = client.post(f"/api/v1/carts/{cart['id']}/coupons", json={"code": code.lower()}).get_json()
    assert (applied["discount"], applied["total"]) == (1000, 1000)


def test_y_after_the_window_or_without_a_keyword_agrees_to_nothing(client, twilio, frozen_clock):
    assert reply(text(client, twilio, "Y", PHONE)) is None
    text(client, twilio, "SPRING", PHONE)
    frozen_clock.advance(hours=25)
    assert reply(text(client, twilio, "Y", PHONE)) is None
    assert coupons() == [] and keyword_grants() == []
    assert reply(text(client, twilio, "SPRING", PHONE)).startswith("Corner Shop: Reply Y")  # asks again
    assert coupons() == [] and reply(text(client, twilio, "Y", PHONE)) is not None and len(coupons()) == 1


def test_stop_keeps_working_before_and_after_the_opt_in(client, twilio):
    text(client, twilio, "SPRING", PHONE)
    assert reply(text(client, twilio, "STOP", PHONE)) is None
    assert reply(text(client, twilio, "Y", PHONE)) is None  # a stopped number agrees to nothing by Y
    assert reply(text(client, twilio, "SPRING", PHONE)) is None
    assert coupons() == [] and consent.allowed("sms", "marketing", phone=PHONE) == (False, "sms_stopped")
    other = "+14155550188"
    text(client, twilio, "SPRING", other)
    text(client, twilio, "Y", other)
    assert consent.allowed("sms", "marketing", phone=other) == (True, None)
    text(client, twilio, "stop", other)
    assert consent.allowed("sms", "marketing", phone=other) == (False, "sms_stopped")


def test_any_other_text_still_changes_nothing(client, twilio):
    assert reply(text(client, twilio, "spring sale?", PHONE)) is None
    assert reply(text(client, twilio, "SUMMER", PHONE)) is None


@pytest.mark.parametrize("setting", ["STOP=percent:10:7", "Y=percent:10:7", "SPRING=percent:150:7",
                                     "SPRING=fixed:500:7", "SPRING", "SPRING=percent:10:0"])
def test_a_keyword_setting_that_cannot_work_refuses_to_start(database_url, setting):
    with pytest.raises(RuntimeError, match="SMS_KEYWORDS"):
        make_app(database_url, SMS_KEYWORDS=setting)
