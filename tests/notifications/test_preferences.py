"""Preferences: a customer reads and sets offers by email and text, with the wording and the channel
kept; staff, marketing and admin read them; a checkout's sms_updates is a recorded yes to order texts."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from notifications import consent
from notifications.consent_models import ConsentRecord
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.messages import confirm_marketing_email
from tests.support.orders import cart_for, checkout

PHONE = "+14155550123"
WORDING = "Yes, send me offers and news from Omnishop. You can stop at any time."


@pytest.fixture
def ann(app):
    user = f.user("customer")
    db.session.commit()
    return user


def _ledger_size() -> int:
    return db.session.scalar(select(func.count()).select_from(ConsentRecord))


def _row(body, channel, purpose):
    [row] = [p for p in body["preferences"] if p["channel"] == channel and p["purpose"] == purpose]
    return row


def _put(client, who, body, channel="web"):
    return client.put("/api/v1/me/preferences", json=body, headers={**f.bearer(who), "X-Channel": channel})


def test_a_new_customer_gets_order_emails_and_no_offers(client, ann):
    body = client.get("/api/v1/me/preferences", headers=f.bearer(ann)).get_json()
    assert body["customer_id"] == ann.id and body["history"] == []
    assert len(body["preferences"]) == 4
    assert _row(body, "email", "transactional")["allowed"] is True
    for channel in ("email", "sms"):
        assert _row(body, channel, "marketing") | {"since": None} == {
            "channel": channel, "purpose": "marketing", "allowed": False, "reason": "no_marketing_consent",
            "state": None, "since": None, "source": None}


def test_turning_offers_on_keeps_the_wording_and_where_it_was_said(client, ann):
    resp = _put(client, ann, {"email_marketing": True, "wording": WORDING}, channel="app")
    assert resp.status_code == 200
    assert _row(resp.get_json(), "email", "marketing") | {"since": None} == {
        "channel": "email", "purpose": "marketing", "allowed": False, "reason": "confirmation_pending",
        "state": "pending", "since": None, "source": "app"}  # double opt-in: test_double_opt_in.py
    [event] = resp.get_json()["history"]
    assert (event["wording"], event["source"], event["address"]) == (WORDING, "app", ann.email)
    confirm_marketing_email(client, ann.email)
    assert consent.allowed("email", "marketing", customer_id=ann.id, email=ann.email) == (True, None)


def test_setting_what_is_already_set_adds_nothing_and_off_withdraws(client, ann):
    _put(client, ann, {"email_marketing": True, "wording": WORDING})
    confirm_marketing_email(client, ann.email)
    _put(client, ann, {"email_marketing": True, "wording": WORDING})
    assert _ledger_size() == 2  # the yes, its confirmation
    body = _put(client, ann, {"email_marketing": False, "wording": "Offers by email: off"}).get_json()
    assert _row(body, "email", "marketing")["reason"] == "unsubscribed"
    assert [h["state"] for h in body["history"]] == ["withdrawn", "granted", "pending"]
    assert consent.allowed("email", "marketing", customer_id=ann.id, email=ann.email) == (False, "unsubscribed")


def test_offers_by_text_need_a_phone_and_a_number_not_stopped(client, ann):
    resp = _put(client, ann, {"sms_marketing": True, "email_marketing": True, "wording": WORDING})
    assert resp.status_code == 422 and resp.get_json()["code"] == "phone_required"
    assert _ledger_size() == 0  # the email half was not kept either
    ann.phone = PHONE
    db.session.commit()
    consent.stop_texts(PHONE, 'Texted "STOP" to our number.')
    db.session.commit()
    resp = _put(client, ann, {"sms_marketing": True, "wording": WORDING})
    assert resp.status_code == 409 and resp.get_json()["code"] == "sms_stopped"
    consent.resume_texts(PHONE, 'Texted "START" to our number.')
    db.session.commit()
    body = _put(client, ann, {"sms_marketing": True, "wording": WORDING}).get_json()
    assert _row(body, "sms", "marketing")["allowed"] is True


@pytest.mark.parametrize(("body", "headers", "status", "code"), [
    ({"wording": WORDING}, {}, 422, "validation_error"),
    ({"email_marketing": True}, {}, 422, "validation_error"),
    ({"email_marketing": True, "wording": ""}, {}, 422, "validation_error"),
    ({"email_marketing": "maybe", "wording": WORDING}, {}, 422, "validation_error"),
    ({"email_marketing": True, "wording": "x" * 2001}, {}, 422, "validation_error"),
    ({"email_marketing": True, "wording": WORDING}, {"X-Channel": "fax"}, 422, "unknown_channel"),
])
def test_bad_input_is_a_problem_and_changes_nothing(client, ann, body, headers, status, code):
    resp = client.put("/api/v1/me/preferences", json=body, headers={**f.bearer(ann), **headers})
    assert resp.status_code == status and resp.mimetype == "application/problem+json"
    assert resp.get_json()["code"] == code
    assert _ledger_size() == 0


def test_only_the_customer_sets_and_reads_their_own(client, ann):
    assert client.get("/api/v1/me/preferences").status_code == 401
    admin = f.bearer(f.user("admin"))
    assert client.get("/api/v1/me/preferences", headers=admin).status_code == 403
    assert client.put("/api/v1/me/preferences", json={"email_marketing": True, "wording": WORDING},
                      headers=admin).status_code == 403
    assert _ledger_size() == 0


@pytest.mark.parametrize("role", ["staff", "marketing", "admin"])
def test_staff_marketing_and_admin_read_a_customers_preferences(client, ann, role):
    _put(client, ann, {"email_marketing": True, "wording": WORDING})
    confirm_marketing_email(client, ann.email)
    reader = f.user(role, stores=[f.store()] if role == "staff" else ())
    db.session.commit()
    body = client.get(f"/api/v1/customers/{ann.id}/preferences", headers=f.bearer(reader)).get_json()
    assert _row(body, "email", "marketing")["allowed"] is True
    assert [h["source"] for h in body["history"]] == ["email_confirmation", "web"]
    assert body["history"][1]["wording"] == WORDING


def test_a_customer_cannot_read_another_and_an_unknown_one_is_a_404(client, ann):
    other = f.user("customer")
    db.session.commit()
    assert client.get(f"/api/v1/customers/{ann.id}/preferences", headers=f.bearer(other)).status_code == 403
    admin = f.bearer(f.user("admin"))
    resp = client.get("/api/v1/customers/999999/preferences", headers=admin)
    assert resp.status_code == 404 and resp.get_json()["code"] == "customer_not_found"


def test_a_checkout_with_sms_updates_is_a_recorded_yes_to_order_texts(client, store_world, ann):
    headers = f.bearer(ann)
    cart_id = cart_for(client, store_world["store"], headers=headers, email=None)
    resp = checkout(client, cart_id, headers=headers, email=ann.email, phone=PHONE, sms_updates=True)
    assert resp.status_code == 201, resp.get_json()
    order_id = resp.get_json()["order"]["id"]
    body = client.get("/api/v1/me/preferences", headers=headers).get_json()
    [event] = body["history"]
    assert (event["channel"], event["purpose"], event["state"], event["source"], event["address"],
            event["reference"]) == ("sms", "transactional", "granted", "checkout", PHONE, f"order:{order_id}")
    assert consent.allowed("sms", "transactional", customer_id=ann.id, phone=PHONE,
                           order_sms_updates=True) == (True, None)


def test_a_guest_checkout_records_the_bare_phone_and_a_no_records_nothing(client, store_world):
    yes = checkout(client, cart_for(client, store_world["store"]), phone="+1 415 555 0123", sms_updates=True)
    no = checkout(client, cart_for(client, store_world["store"]), phone="+14155550188", sms_updates=False)
    assert yes.status_code == no.status_code == 201
    rows = db.session.scalars(select(ConsentRecord)).all()
    assert [(r.customer_id, r.address, r.source, r.state) for r in rows] == [(None, PHONE, "checkout", "granted")]
    assert consent.allowed("sms", "transactional", phone=PHONE) == (True, None)
    assert consent.allowed("sms", "transactional", phone="+14155550188") == (False, "no_sms_consent")
