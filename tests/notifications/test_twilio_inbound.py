"""Texts to our number, signed as Twilio signs them: STOP stops every text, START resumes, HELP answers,
and an unsigned or wrongly signed request changes nothing."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select

from notifications import consent
from notifications.consent_models import ConsentRecord
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.twilio_inbound import AUTH_TOKEN, INBOUND_PATH, inbound_params, signature, text

PHONE = "+14155550123"
STOP_WORDS = ["STOP", "stopall", "Unsubscribe", "CANCEL", "end", "QUIT", "revoke", "OptOut", "  stop \n"]


@pytest.fixture
def twilio(app, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://shop.example.com")
    return app


@pytest.fixture
def ann(app):
    """A customer with a phone who agreed to offers by email and by text."""
    user = f.user("customer")
    user.phone = PHONE
    db.session.commit()
    for channel in ("email", "sms"):
        consent.record(channel, "marketing", "granted", "web", "Send me offers", customer_id=user.id,
                       email=user.email, phone=PHONE)
    db.session.commit()
    return user


def _ledger_size() -> int:
    return db.session.scalar(select(func.count()).select_from(ConsentRecord))


def _reply(resp) -> list[str]:
    assert resp.status_code == 200
    assert resp.mimetype == "text/xml"
    root = ET.fromstring(resp.data)  # noqa: S314 - our own reply
    assert root.tag == "Response"
    return [m.text for m in root.iter("Message")]


@pytest.mark.parametrize("word", STOP_WORDS)
def test_a_stop_word_stops_every_text_to_the_number_but_not_email(client, twilio, ann, word):
    assert _reply(text(client, twilio, word, PHONE)) == []  # Twilio sends its own confirmation
    for purpose in ("transactional", "marketing"):
        assert consent.allowed("sms", purpose, customer_id=ann.id, phone=PHONE,
                               order_sms_updates=True) == (False, "sms_stopped")
    assert consent.allowed("email", "marketing", customer_id=ann.id, email=ann.email) == (True, None)
    assert consent.allowed("email", "transactional", customer_id=ann.id, email=ann.email) == (True, None)


def test_a_stop_is_recorded_as_said_and_on_the_customers_timeline(client, twilio, ann):
    text(client, twilio, "Stop", PHONE)
    rows = db.session.scalars(select(ConsentRecord).where(ConsentRecord.source == "sms_reply")).all()
    assert {(r.purpose, r.state, r.address, r.customer_id) for r in rows} == {
        ("transactional", "withdrawn", PHONE, ann.id), ("marketing", "withdrawn", PHONE, ann.id)}
    assert all(r.wording == 'Texted "Stop" to our number.' and r.reference.startswith("twilio:SM") for r in rows)
    items = client.get(f"/api/v1/customers/{ann.id}/timeline", headers=f.bearer(f.user("marketing"))).get_json()["items"]
    assert {(i["type"], i["channel"]) for i in items if i["type"].startswith("consent.")} >= {
        ("consent.withdrawn", "sms")}


def test_start_resumes_order_texts_and_offers_that_had_been_agreed(client, twilio, ann):
    text(client, twilio, "STOP", PHONE)
    assert _reply(text(client, twilio, " start ", PHONE)) == []
    assert consent.allowed("sms", "transactional", customer_id=ann.id, phone=PHONE,
                           order_sms_updates=True) == (True, None)
    assert consent.allowed("sms", "marketing", customer_id=ann.id, phone=PHONE) == (True, None)


@pytest.mark.parametrize("word", ["START", "unstop", "Yes"])
def test_start_is_no_yes_to_offers_never_agreed_to(client, twilio, word):
    guest = "+14155550199"
    text(client, twilio, "STOP", guest)
    text(client, twilio, word, guest)
    assert consent.allowed("sms", "transactional", phone=guest, order_sms_updates=True) == (True, None)
    assert consent.allowed("sms", "marketing", phone=guest) == (False, "unsubscribed")


def test_start_does_not_bring_back_offers_withdrawn_before_the_stop(client, twilio, ann):
    consent.record("sms", "marketing", "withdrawn", "app", "No more offers", customer_id=ann.id, phone=PHONE)
    db.session.commit()
    text(client, twilio, "STOP", PHONE)
    text(client, twilio, "START", PHONE)
    assert consent.allowed("sms", "marketing", customer_id=ann.id, phone=PHONE) == (False, "unsubscribed")


def test_a_yes_at_checkout_does_not_lift_a_stop_sent_by_text(client, twilio):
    text(client, twilio, "STOP", PHONE)
    consent.record("sms", "transactional", "granted", "checkout", consent.CHECKOUT_WORDING, phone=PHONE)
    db.session.commit()
    assert consent.allowed("sms", "transactional", phone=PHONE, order_sms_updates=True) == (False, "sms_stopped")
    text(client, twilio, "START", PHONE)
    assert consent.allowed("sms", "transactional", phone=PHONE, order_sms_updates=True) == (True, None)


def test_help_answers_who_we_are_how_to_reach_us_and_how_often(client, twilio, monkeypatch):
    monkeypatch.setitem(twilio.config, "BRAND_NAME", "Corner Shop")
    monkeypatch.setitem(twilio.config, "BRAND_SUPPORT_EMAIL", "help@corner.example")
    monkeypatch.setitem(twilio.config, "SMS_HELP_FREQUENCY", "At most 2 texts a week.")
    [answer] = _reply(text(client, twilio, "help", PHONE))
    assert "Corner Shop" in answer and "help@corner.example" in answer and "At most 2 texts a week." in answer
    assert "STOP" in answer
    assert _ledger_size() == 0


def test_any_other_text_changes_nothing(client, twilio, ann):
    before = _ledger_size()
    assert _reply(text(client, twilio, "please stop texting me so often", PHONE)) == []
    assert _ledger_size() == before
    assert consent.allowed("sms", "marketing", customer_id=ann.id, phone=PHONE) == (True, None)


def _refused(resp) -> None:
    assert resp.status_code == 403
    assert resp.mimetype == "application/problem+json"
    assert resp.get_json()["code"] == "twilio_signature_invalid"


def test_a_bad_or_missing_signature_is_refused_and_changes_nothing(client, twilio, ann):
    before = _ledger_size()
    _refused(text(client, twilio, "STOP", PHONE, token="not-our-token"))
    _refused(client.post(INBOUND_PATH, data=inbound_params("STOP", PHONE)))
    params = inbound_params("HELP", PHONE)
    tampered = {**params, "Body": "STOP"}  # signed as HELP, sent as STOP
    url = twilio.config["PUBLIC_BASE_URL"] + INBOUND_PATH
    _refused(client.post(INBOUND_PATH, data=tampered, headers={"X-Twilio-Signature": signature(url, params)}))
    assert _ledger_size() == before
    assert consent.allowed("sms", "marketing", customer_id=ann.id, phone=PHONE) == (True, None)


def test_the_signature_is_checked_over_the_public_url_not_the_one_behind_the_proxy(client, twilio, ann):
    # The test client calls http://localhost/...; Twilio signs the public URL it was given.
    _refused(text(client, twilio, "STOP", PHONE, url="http://localhost" + INBOUND_PATH))
    assert _reply(text(client, twilio, "STOP", PHONE, url="https://shop.example.com" + INBOUND_PATH)) == []
    assert consent.allowed("sms", "marketing", customer_id=ann.id, phone=PHONE) == (False, "sms_stopped")


def test_without_an_auth_token_nothing_is_accepted(client, twilio, monkeypatch):
    monkeypatch.setitem(twilio.config, "SMS_TWILIO_AUTH_TOKEN", "")
    _refused(text(client, twilio, "STOP", PHONE, token=""))
    assert _ledger_size() == 0
