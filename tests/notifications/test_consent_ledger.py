"""The consent ledger: what `allowed` says for each channel and purpose, by customer or bare address,
and that the ledger only ever grows."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from notifications import consent
from notifications.consent_models import AppendOnlyError, ConsentRecord
from shop.core.extensions import db
from tests.support import factories as f

PHONE = "+14155550123"


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(ConsentRecord))


def test_transactional_email_goes_unless_withdrawn(app):
    assert consent.allowed("email", "transactional", email="ann@example.com") == (True, None)
    consent.record("email", "transactional", "withdrawn", "staff", "Asked at the counter", email="ann@example.com")
    assert consent.allowed("email", "transactional", email="ann@example.com") == (False, "unsubscribed")


def test_marketing_needs_an_explicit_grant_not_later_withdrawn(app):
    who = {"email": "ann@example.com"}
    assert consent.allowed("email", "marketing", **who) == (False, "no_marketing_consent")
    consent.record("email", "marketing", "granted", "web", "Send me offers", **who)
    assert consent.allowed("email", "marketing", **who) == (True, None)
    consent.record("email", "marketing", "withdrawn", "unsubscribe_link", "Unsubscribed", **who)
    assert consent.allowed("email", "marketing", **who) == (False, "unsubscribed")
    consent.record("email", "marketing", "granted", "app", "Send me offers again", **who)
    assert consent.allowed("email", "marketing", **who) == (True, None)


def test_order_texts_follow_the_orders_choice(app):
    assert consent.allowed("sms", "transactional", phone=PHONE, order_sms_updates=True) == (True, None)
    assert consent.allowed("sms", "transactional", phone=PHONE, order_sms_updates=False) == (False, "no_sms_updates")
    # A text about no order needs a yes in the ledger.
    assert consent.allowed("sms", "transactional", phone=PHONE) == (False, "no_sms_consent")


def test_guests_are_known_by_a_bare_address_however_it_is_spelled(app):
    consent.record("email", "marketing", "granted", "store", "Offers by email", email="  Guest@Example.COM ")
    consent.record("sms", "marketing", "granted", "store", "Offers by text", phone="+1 (415) 555-0123")
    assert consent.allowed("email", "marketing", email="guest@example.com") == (True, None)
    assert consent.allowed("sms", "marketing", phone=PHONE) == (True, None)
    assert consent.allowed("email", "marketing", email="other@example.com") == (False, "no_marketing_consent")


def test_a_bare_addresss_opt_out_holds_for_the_account_that_has_the_address(app):
    ann = f.user("customer", email="ann@example.com")
    consent.record("email", "marketing", "granted", "web", "Offers", customer_id=ann.id, email="ann@example.com")
    consent.record("email", "marketing", "withdrawn", "unsubscribe_link", "Unsubscribed", email="ann@example.com")
    assert consent.allowed("email", "marketing", customer_id=ann.id, email="ann@example.com") == (
        False, "unsubscribed")


def test_the_accounts_own_choice_follows_the_customer_to_a_new_address(app):
    ann = f.user("customer", email="ann@example.com")
    consent.record("email", "marketing", "granted", "web", "Offers", customer_id=ann.id, email="ann@example.com")
    assert consent.allowed("email", "marketing", customer_id=ann.id, email="ann@new.example.com") == (True, None)
    assert consent.allowed("email", "marketing", email="ann@new.example.com") == (False, "no_marketing_consent")


def test_an_event_needs_someone_and_known_values(app):
    with pytest.raises(ValueError):
        consent.record("email", "marketing", "granted", "web", "Offers")
    with pytest.raises(ValueError):
        consent.record("email", "marketing", "granted", "carrier_pigeon", "Offers", email="a@example.com")
    with pytest.raises(ValueError):
        consent.record("fax", "marketing", "granted", "web", "Offers", email="a@example.com")


def test_the_ledger_is_append_only_through_the_orm(app):
    entry = consent.record("email", "marketing", "granted", "web", "Offers", email="ann@example.com")
    db.session.commit()
    entry.state = "withdrawn"
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(ConsentRecord, entry.id))
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()
    assert _count() == 1
    assert consent.allowed("email", "marketing", email="ann@example.com") == (True, None)


@pytest.mark.postgres
def test_postgresql_refuses_update_and_delete_from_any_client(app):
    consent.record("email", "marketing", "granted", "web", "Offers", email="ann@example.com")
    db.session.commit()
    for statement in ("UPDATE consent_records SET state = 'withdrawn'", "DELETE FROM consent_records"):
        with db.engine.connect() as conn, pytest.raises(Exception, match="append-only"):
            conn.execute(text(statement))
    assert _count() == 1
    assert consent.allowed("email", "marketing", email="ann@example.com") == (True, None)


def test_a_consent_event_about_a_customer_is_on_their_timeline(app, client):
    ann = f.user("customer")
    db.session.commit()
    consent.record("email", "marketing", "granted", "app", "Offers", customer_id=ann.id, email=ann.email)
    consent.record("email", "marketing", "granted", "web", "Offers", email="guest@example.com")
    db.session.commit()
    items = client.get("/api/v1/me/timeline", headers=f.bearer(ann)).get_json()["items"]
    consents = [i for i in items if i["type"].startswith("consent.")]
    assert [(i["type"], i["channel"], i["summary"]) for i in consents] == [
        ("consent.granted", "app", "Marketing emails: agreed (app)")]
