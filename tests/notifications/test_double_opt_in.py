"""Double opt-in for offers by email: a yes is pending until the address confirms it with the link in
a real mail (aiosmtpd); only then does marketing mail go. Order mail never waits for it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from notifications import consent
from notifications.consent_models import ConsentRecord
from notifications.delivery import deliver_due
from notifications.opt_in import lapse_unconfirmed
from notifications.outbox import enqueue
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.clock import frozen_clock  # noqa: F401 - fixture
from tests.support.messages import confirmation_path, outbox
from tests.support.pickup import place

WORDING = "Yes, send me offers and news by email. I can stop at any time."
OFFER = {"headline": "Autumn teas are in", "body": "Six new blends.", "cta_label": "See them",
         "cta_url": "https://shop.example.com/teas"}
JSON = {"Accept": "application/json"}


@pytest.fixture
def ann(app):
    user = f.user("customer", email="ann@example.com")
    db.session.commit()
    return user


def _say_yes(client, who, channel="web"):
    resp = client.put("/api/v1/me/preferences", json={"email_marketing": True, "wording": WORDING},
                      headers={**f.bearer(who), "X-Channel": channel})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _offer(user, n: int = 1):
    enqueue(template="promotion", channel="email", purpose="marketing", to=user.email, customer_id=user.id,
            dedupe_key=f"promo:{n}:{user.id}:email", context=OFFER)
    db.session.commit()


def _mails(smtp_server, subject_part: str, to: str = "ann@example.com") -> list:
    return [m for m in smtp_server.to(to) if subject_part in m["Subject"]]


def _ledger(customer_id: int) -> list[tuple[str, str]]:
    return [(r.state, r.source) for r in db.session.scalars(
        select(ConsentRecord).where(ConsentRecord.customer_id == customer_id, ConsentRecord.purpose == "marketing")
        .order_by(ConsentRecord.id))]


def test_offers_wait_for_the_confirmation_from_the_mail_then_go(client, app, ann, smtp_server):
    body = _say_yes(client, ann)
    [row] = [p for p in body["preferences"] if p["channel"] == "email" and p["purpose"] == "marketing"]
    assert (row["state"], row["allowed"], row["reason"]) == ("pending", False, "confirmation_pending")
    _offer(ann, 1)
    deliver_due()
    [confirmation] = _mails(smtp_server, "Confirm you want offers")
    assert confirmation["List-Unsubscribe"] is None  # a transactional mail about their own request
    assert WORDING in confirmation.get_body(("plain",)).get_content()
    assert _mails(smtp_server, OFFER["headline"]) == []
    assert [(m.status, m.reason) for m in outbox(template="promotion")] == [("skipped", "confirmation_pending")]

    path = confirmation_path(confirmation)
    page = client.get(path)  # what a mail scanner does: nothing changes
    assert page.status_code == 200 and "<button" in page.get_data(as_text=True)
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert _ledger(ann.id) == [("pending", "web")]

    done = client.post(path)
    assert done.status_code == 200 and "will get our offers" in done.get_data(as_text=True)
    assert client.post(path, headers=JSON).get_json() == {"address": "a•••@example.com", "confirmed": True}
    assert _ledger(ann.id) == [("pending", "web"), ("granted", "email_confirmation")]  # its own entry, once
    _offer(ann, 2)
    deliver_due()
    assert len(_mails(smtp_server, OFFER["headline"])) == 1
    timeline = client.get("/api/v1/me/timeline", headers=f.bearer(ann)).get_json()["items"]
    assert [e["summary"] for e in timeline if e["type"].startswith("consent.")] == [
        "Marketing emails: agreed (email confirmation)",
        "Marketing emails: agreed, awaiting confirmation by email (web)"]


def test_order_mail_does_not_wait_for_any_confirmation(client, app, ann, smtp_server, store_world):
    _say_yes(client, ann)
    placed = place(client, store_world, headers=f.bearer(ann), email=ann.email)
    deliver_due()
    assert len(_mails(smtp_server, f"Order {placed['order']['number']}")) == 1
    assert consent.allowed("email", "transactional", customer_id=ann.id, email=ann.email) == (True, None)


def test_the_confirmation_mail_speaks_the_customers_language(client, app, ann, smtp_server):
    ann.locale = "fr"
    db.session.commit()
    _say_yes(client, ann)
    deliver_due()
    [mail] = _mails(smtp_server, "Confirmez que vous souhaitez")
    assert "Tant que vous n'avez pas confirmé" in mail.get_body(("plain",)).get_content()


def test_a_no_after_the_yes_makes_its_link_confirm_nothing(client, app, ann, smtp_server):
    _say_yes(client, ann)
    deliver_due()
    path = confirmation_path(_mails(smtp_server, "Confirm you want offers")[0])
    off = client.put("/api/v1/me/preferences", json={"email_marketing": False, "wording": "No offers"},
                     headers=f.bearer(ann))
    assert off.status_code == 200
    problem = client.post(path, headers=JSON)
    assert problem.status_code == 409 and problem.get_json()["code"] == "confirmation_superseded"
    page = client.post(path)
    assert page.status_code == 409 and "confirmation_superseded" in page.get_data(as_text=True)
    assert consent.allowed("email", "marketing", customer_id=ann.id, email=ann.email) == (False, "unsubscribed")


def test_asking_again_sends_a_new_link_and_only_the_newest_confirms(client, app, ann, smtp_server):
    _say_yes(client, ann)
    _say_yes(client, ann)  # the first mail was lost
    deliver_due()
    first, second = (confirmation_path(m) for m in _mails(smtp_server, "Confirm you want offers"))
    assert client.post(first, headers=JSON).status_code == 409
    assert client.post(second, headers=JSON).status_code == 200
    assert consent.allowed("email", "marketing", customer_id=ann.id, email=ann.email) == (True, None)


def test_a_tampered_or_expired_link_is_refused_and_changes_nothing(client, app, ann, smtp_server, monkeypatch):
    _say_yes(client, ann)
    deliver_due()
    path = confirmation_path(_mails(smtp_server, "Confirm you want offers")[0])
    tampered = client.post(path[:-3] + ("xyz" if not path.endswith("xyz") else "abc"), headers=JSON)
    assert tampered.status_code == 404 and tampered.get_json()["code"] == "confirmation_link_invalid"
    monkeypatch.setitem(app.config, "CONSENT_CONFIRM_MAX_AGE_SECONDS", -1)
    expired = client.get(path)
    assert expired.status_code == 410 and "confirmation_link_expired" in expired.get_data(as_text=True)
    assert client.post(path, headers=JSON).get_json()["code"] == "confirmation_link_expired"
    assert _ledger(ann.id) == [("pending", "web")]


def test_a_guest_says_yes_at_checkout_and_confirms_by_mail(client, app, store_world, smtp_server):
    placed = place(client, store_world, email="gus@example.com", email_marketing=True, marketing_wording=WORDING)
    deliver_due()
    [confirmation] = _mails(smtp_server, "Confirm you want offers", to="gus@example.com")
    assert consent.allowed("email", "marketing", email="gus@example.com") == (False, "confirmation_pending")
    [pending] = db.session.scalars(select(ConsentRecord).where(ConsentRecord.address == "gus@example.com"))
    assert (pending.source, pending.reference, pending.wording) == (
        "checkout", f"order:{placed['order']['id']}", WORDING)
    assert client.post(confirmation_path(confirmation)).status_code == 200
    assert consent.allowed("email", "marketing", email="gus@example.com") == (True, None)


def test_a_checkout_yes_needs_the_wording_shown(client, app, store_world):
    from tests.support.orders import cart_for, checkout

    resp = checkout(client, cart_for(client, store_world["store"], email="gus@example.com"), email_marketing=True)
    assert resp.status_code == 422 and "marketing_wording" in resp.get_json()["errors"]


def _email_offers(client, who) -> dict:
    body = client.get("/api/v1/me/preferences", headers=f.bearer(who)).get_json()
    [row] = [p for p in body["preferences"] if p["channel"] == "email" and p["purpose"] == "marketing"]
    return row


def test_a_yes_never_confirmed_lapses_when_its_link_expires(client, app, ann, smtp_server, frozen_clock):  # noqa: F811
    _say_yes(client, ann)
    deliver_due()
    path = confirmation_path(_mails(smtp_server, "Confirm you want offers")[0])
    max_age = app.config["CONSENT_CONFIRM_MAX_AGE_SECONDS"]
    frozen_clock.advance(seconds=max_age - 60)
    assert lapse_unconfirmed() == 0  # the link still works
    assert _email_offers(client, ann)["state"] == "pending"
    frozen_clock.advance(seconds=61)
    assert lapse_unconfirmed() == 1
    assert lapse_unconfirmed() == 0  # once
    [pending] = db.session.scalars(select(ConsentRecord).where(ConsentRecord.customer_id == ann.id,
                                                               ConsentRecord.state == "pending"))
    lapsed = db.session.scalars(select(ConsentRecord).where(ConsentRecord.customer_id == ann.id)
                                .order_by(ConsentRecord.id.desc())).first()
    assert (lapsed.state, lapsed.source, lapsed.reference) == ("withdrawn", "confirmation_expired",
                                                               f"consent:{pending.id}")
    row = _email_offers(client, ann)
    assert (row["state"], row["allowed"]) == ("withdrawn", False)
    assert client.post(path, headers=JSON).status_code in (409, 410)  # the old link confirms nothing
    assert _ledger(ann.id) == [("pending", "web"), ("withdrawn", "confirmation_expired")]
    _say_yes(client, ann)  # a new yes: pending again, with a new link
    assert _email_offers(client, ann)["state"] == "pending"


def test_only_unanswered_yeses_lapse(client, app, ann, smtp_server, frozen_clock):  # noqa: F811
    bob = f.user("customer", email="bob@example.com")
    db.session.commit()
    _say_yes(client, ann)
    _say_yes(client, bob)
    deliver_due()
    assert client.post(confirmation_path(_mails(smtp_server, "Confirm you want offers")[0]),
                       headers=JSON).status_code == 200
    frozen_clock.advance(seconds=app.config["CONSENT_CONFIRM_MAX_AGE_SECONDS"] + 1)
    assert lapse_unconfirmed() == 1
    assert _ledger(ann.id) == [("pending", "web"), ("granted", "email_confirmation")]
    assert _ledger(bob.id) == [("pending", "web"), ("withdrawn", "confirmation_expired")]
