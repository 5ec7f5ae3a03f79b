"""Consent after an erasure: the ledger keeps its events under the contact's HMAC. Whoever names the
address again (a new account, a guest order) meets every no said before the erasure, never a yes."""

from __future__ import annotations

import pytest

from notifications import consent
from notifications.delivery import deliver_due
from notifications.outbox import enqueue
from shop.core.extensions import db
from tests.support.messages import confirm_marketing_email, outbox
from tests.support.orders import cart_for, checkout

EMAIL, PHONE, PASSWORD = "erin@example.com", "+14155550177", "erin-password-1"
OFFER = {"headline": "Tea", "body": "", "cta_label": "", "cta_url": ""}
_offers = iter(range(1, 1000))


def sign_up(client) -> tuple[int, dict]:
    assert client.post("/api/v1/customers", json={"email": EMAIL, "password": PASSWORD, "name": "Erin",
                                                  "phone": PHONE}).status_code == 202
    token = client.post("/api/v1/auth/tokens", json={"email": EMAIL, "password": PASSWORD}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    return client.get("/api/v1/me", headers=headers).get_json()["id"], headers


def offers(client, headers, wanted: bool):
    resp = client.put("/api/v1/me/preferences", json={"email_marketing": wanted, "sms_marketing": wanted,
                                                      "wording": "Offers?"}, headers=headers)
    assert resp.status_code == 200


def erase(client, headers):
    assert client.delete("/api/v1/me", json={"password": PASSWORD}, headers=headers).status_code in (200, 204)


def preference(client, headers, channel="email", purpose="marketing") -> dict:
    rows = client.get("/api/v1/me/preferences", headers=headers).get_json()["preferences"]
    return next(r for r in rows if r["channel"] == channel and r["purpose"] == purpose)


def offer_to(customer_id: int | None, to: str = EMAIL, channel: str = "email"):
    enqueue(template="promotion", channel=channel, purpose="marketing", to=to, customer_id=customer_id,
            dedupe_key=f"promo:{next(_offers)}:{channel}", context=OFFER)
    db.session.commit()


def sent_offers() -> list[tuple[str, str, str | None]]:
    deliver_due()
    return [(m.to_address, m.status, m.reason) for m in outbox(template="promotion")]


def test_a_yes_given_before_the_erasure_is_gone_with_it(client, store_world):
    old_id, headers = sign_up(client)
    offers(client, headers, True)
    erase(client, headers)
    new_id, headers = sign_up(client)  # the same person, back
    assert preference(client, headers)["allowed"] is False
    assert preference(client, headers)["reason"] == "no_marketing_consent"
    offer_to(new_id)
    offer_to(None)  # to the bare address, as a list of addresses would
    offer_to(old_id, to=f"erased-{old_id}@erased.invalid")  # the erased account itself
    assert [(status, reason) for _, status, reason in sent_offers()] == [("skipped", "no_marketing_consent")] * 3
    offers(client, headers, True)  # a new yes counts, once the address confirms it (double opt-in)
    confirm_marketing_email(client, EMAIL)
    offer_to(new_id)
    assert sent_offers()[-1][1] == "sent"


def test_a_no_said_before_the_erasure_still_holds(client, store_world):
    _, headers = sign_up(client)
    offers(client, headers, True)
    offers(client, headers, False)
    consent.record("email", "transactional", "withdrawn", "unsubscribe_link", "No order emails", email=EMAIL)
    db.session.commit()
    erase(client, headers)
    new_id, headers = sign_up(client)
    assert (preference(client, headers)["allowed"], preference(client, headers)["reason"]) == (False, "unsubscribed")
    assert preference(client, headers, purpose="transactional")["reason"] == "unsubscribed"
    offers(client, headers, True)  # until they say yes again (and confirm it by mail)
    assert preference(client, headers)["reason"] == "confirmation_pending"
    confirm_marketing_email(client, EMAIL)
    assert preference(client, headers)["allowed"] is True


def test_a_stop_by_text_before_the_erasure_keeps_a_guest_orders_texts_from_going(client, store_world):
    _, headers = sign_up(client)
    consent.stop_texts(PHONE, "STOP")
    db.session.commit()
    erase(client, headers)
    body = checkout(client, cart_for(client, store_world["store"], email="someone@example.com"), phone=PHONE,
                    sms_updates=True).get_json()
    oid = body["order"]["id"]
    for step in ("picking", "ready"):
        assert client.post(f"/api/v1/orders/{oid}/{step}", headers=store_world["staff"]).status_code == 200
    deliver_due()
    [text] = outbox(order_id=oid, channel="sms")
    assert (text.status, text.reason) == ("skipped", "sms_stopped")
    consent.resume_texts(PHONE, "START")  # the number says START: texts go again, offers do not
    db.session.commit()
    assert consent.allowed("sms", "transactional", phone=PHONE, order_sms_updates=True) == (True, None)
    assert consent.allowed("sms", "marketing", phone=PHONE) == (False, "unsubscribed")  # its STOP said no


@pytest.mark.parametrize("channel,to", [("email", EMAIL), ("sms", PHONE)])
def test_the_erased_rows_hold_no_readable_address(client, store_world, channel, to):
    _, headers = sign_up(client)
    offers(client, headers, True)
    erase(client, headers)
    rows = db.session.scalars(db.select(consent.ConsentRecord).where(consent.ConsentRecord.channel == channel)).all()
    assert rows and all(r.address.startswith(consent.ERASED_PREFIX) and to not in r.address for r in rows)
