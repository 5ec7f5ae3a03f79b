"""Staff record a choice a customer made at their counter: source `store`, the store and the clerk
kept with the wording shown, on the ledger (append-only) and the customer's timeline. Only staff of
that store (or an admin) may; a yes to offers by email still waits for the customer's confirmation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from notifications import consent
from notifications.consent_models import AppendOnlyError, ConsentRecord
from notifications.delivery import deliver_due
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.messages import confirmation_path

PHONE = "+14155550123"
SHOWN = "Offers by text from Omnishop, at most one a day. Reply STOP to stop."


@pytest.fixture
def counter(app):
    store, other = f.store(code="NYC01"), f.store(code="CHI01")
    clerk, stranger = f.user("staff", [store]), f.user("staff", [other])
    customer = f.user("customer", email="cora@example.com")
    customer.phone = PHONE
    db.session.commit()
    return {"store": store, "clerk": clerk, "stranger": stranger, "customer": customer}


def _record(client, counter, who="clerk", store=None, **body):
    store_id = store if store is not None else counter["store"].id
    payload = {"channel": "sms", "purpose": "marketing", "state": "granted", "wording": SHOWN, **body}
    return client.post(f"/api/v1/stores/{store_id}/customers/{counter['customer'].id}/consents", json=payload,
                       headers=f.bearer(counter[who]) if isinstance(who, str) else who)


def test_a_clerk_records_a_yes_with_the_store_the_clerk_and_the_wording(client, counter):
    resp = _record(client, counter)
    assert resp.status_code == 201, resp.get_json()
    event = resp.get_json()
    assert {k: event[k] for k in ("channel", "purpose", "state", "source", "wording", "address", "reference",
                                  "store_id", "actor_id")} == {
        "channel": "sms", "purpose": "marketing", "state": "granted", "source": "store", "wording": SHOWN,
        "address": PHONE, "reference": "store:NYC01", "store_id": counter["store"].id,
        "actor_id": counter["clerk"].id}
    customer = counter["customer"]
    assert consent.allowed("sms", "marketing", customer_id=customer.id, phone=PHONE) == (True, None)

    timeline = client.get("/api/v1/me/timeline", headers=f.bearer(customer)).get_json()["items"]
    [entry] = [e for e in timeline if e["type"] == "consent.granted"]
    assert entry["channel"] == "store" and f"recorded by staff #{counter['clerk'].id}" in entry["summary"]
    history = client.get("/api/v1/me/preferences", headers=f.bearer(customer)).get_json()["history"]
    assert history[0]["store_id"] == counter["store"].id and history[0]["actor_id"] == counter["clerk"].id

    [row] = db.session.scalars(select(ConsentRecord).where(ConsentRecord.customer_id == customer.id))
    row.wording = "changed"
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()


def test_a_no_said_at_the_counter_stops_offers_and_is_recorded_even_when_already_in_force(client, counter):
    assert _record(client, counter).status_code == 201
    for _ in range(2):
        assert _record(client, counter, state="withdrawn", wording="No more offers by text.").status_code == 201
    customer = counter["customer"]
    assert consent.allowed("sms", "marketing", customer_id=customer.id, phone=PHONE) == (False, "unsubscribed")
    states = [r.state for r in db.session.scalars(select(ConsentRecord).order_by(ConsentRecord.id))]
    assert states == ["granted", "withdrawn", "withdrawn"]  # evidence of each time it was said


def test_a_yes_to_offers_by_email_at_the_counter_waits_for_the_customers_confirmation(client, counter, smtp_server):
    resp = _record(client, counter, channel="email", wording="Offers by email, at most one a day.")
    assert resp.status_code == 201 and resp.get_json()["state"] == "pending"
    customer = counter["customer"]
    assert consent.allowed("email", "marketing", customer_id=customer.id, email=customer.email) == (
        False, "confirmation_pending")
    deliver_due()
    [mail] = [m for m in smtp_server.to(customer.email) if "Confirm you want offers" in m["Subject"]]
    assert client.post(confirmation_path(mail)).status_code == 200
    assert consent.allowed("email", "marketing", customer_id=customer.id, email=customer.email) == (True, None)
    again = _record(client, counter, channel="email", wording="Offers by email, at most one a day.")
    assert again.get_json()["state"] == "granted"  # confirmed already: stays in force, no new link


def test_only_staff_of_that_store_or_an_admin_record_there(client, counter):
    assert _record(client, counter, who="stranger").status_code == 403
    assert _record(client, counter, who="customer").status_code == 403
    assert _record(client, counter, who={}).status_code == 401
    admin = f.bearer(f.user("admin"))
    assert _record(client, counter, who=admin).status_code == 201
    missing = _record(client, counter, who=admin, store=999999)
    assert missing.status_code == 404 and missing.get_json()["code"] == "store_not_found"
    nobody = client.post(f"/api/v1/stores/{counter['store'].id}/customers/999999/consents", headers=admin,
                         json={"channel": "sms", "purpose": "marketing", "state": "granted", "wording": SHOWN})
    assert nobody.status_code == 404 and nobody.get_json()["code"] == "customer_not_found"
    assert db.session.scalar(select(ConsentRecord.id).where(ConsentRecord.actor_id == counter["stranger"].id)) is None


def test_texts_need_a_phone_not_stopped_and_bad_input_changes_nothing(client, counter):
    consent.stop_texts(PHONE, 'Texted "STOP" to our number.')
    db.session.commit()
    stopped = _record(client, counter)
    assert stopped.status_code == 409 and stopped.get_json()["code"] == "sms_stopped"
    for bad in ({"state": "pending"}, {"channel": "fax"}, {"wording": ""}):
        assert _record(client, counter, **bad).status_code == 422
    assert db.session.scalar(select(ConsentRecord.id).where(ConsentRecord.source == "store")) is None
