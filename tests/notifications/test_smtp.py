"""Mail through a real SMTP server (aiosmtpd on 127.0.0.1): headers, locales, outages, refusals."""

from __future__ import annotations

import datetime as dt

from notifications import consent
from notifications.delivery import deliver_due
from notifications.outbox import enqueue
from notifications.senders.mime import message_id
from shop.accounts import service as accounts
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.messages import outbox
from tests.support.orders import cart_for, checkout

PROMO = {"headline": "Autumn teas are in", "body": "Six new blends.", "cta_label": "See them",
         "cta_url": "https://shop.example.com/teas"}


def customer(locale: str = "en"):
    user = f.user("customer")
    user.locale = locale
    db.session.flush()
    return user


def promotion(user, key: str):
    return enqueue(template="promotion", channel="email", purpose="marketing", to=user.email,
                   dedupe_key=f"promo:{key}:0:email", context=PROMO, customer_id=user.id, locale=user.locale)


def bodies(mail) -> tuple[str, str]:
    return mail.get_body(("plain",)).get_content(), mail.get_body(("html",)).get_content()


def test_marketing_mail_has_one_click_unsubscribe_and_the_postal_address_in_both_locales(app, smtp_server):
    app.config["BRAND_POSTAL_ADDRESS"] = "Omnishop SAS, 12 rue de la Paix, 75002 Paris"
    try:
        english, french = customer("en"), customer("fr")
        for user in (english, french):
            consent.record("email", "marketing", "granted", "web", "News by email", customer_id=user.id)
            promotion(user, str(user.id))
        db.session.commit()
        assert deliver_due()["sent"] == 4  # the two promotions and the two sign-up verifications
    finally:
        app.config["BRAND_POSTAL_ADDRESS"] = "Omnishop (demo), 1 Example Street, Springfield"
    for user, unsubscribe_word in ((english, "Unsubscribe"), (french, "Se désabonner")):
        [mail] = [m for m in smtp_server.to(user.email) if m["Subject"] == PROMO["headline"]]
        assert mail["List-Unsubscribe"].startswith("<http") and "/api/v1/unsubscribe/" in mail["List-Unsubscribe"]
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text, html = bodies(mail)
        for body in (text, html):
            assert "12 rue de la Paix" in body and unsubscribe_word in body
        assert mail["List-Unsubscribe"].strip("<>") in text
    [french_mail] = [m for m in smtp_server.to(french.email) if m["Subject"] == PROMO["headline"]]
    assert "Vous recevez ce message" in bodies(french_mail)[1]


def test_transactional_mail_has_no_unsubscribe_headers_nor_postal_address_in_both_locales(client, app, store_world,
                                                                                          smtp_server):
    app.config["MAIL_REPLY_TO"] = "Omnishop help <help@omnishop.example>"
    try:
        for locale, email in (("en", "anna@example.com"), ("fr", "amelie@example.com")):
            user = accounts.sign_up(email, "password-123", "Shopper")
            user.locale = locale
            db.session.commit()
            signed_in = f.bearer(user)
            cart = cart_for(client, store_world["store"], email=email, headers=signed_in)
            assert checkout(client, cart, headers=signed_in).status_code == 201
        deliver_due()
    finally:
        app.config["MAIL_REPLY_TO"] = ""
    english, french = smtp_server.to("anna@example.com"), smtp_server.to("amelie@example.com")
    subjects = sorted(m["Subject"] for m in english)
    assert subjects[0] == "Confirm your email for Omnishop"
    assert subjects[1].startswith("Order NYC-") and subjects[1].endswith(": we are preparing it")
    for mail in english + french:
        assert mail["List-Unsubscribe"] is None and mail["List-Unsubscribe-Post"] is None
        assert mail["Reply-To"] == "Omnishop help <help@omnishop.example>"
        text, html = bodies(mail)
        assert "Example Street" not in text and "Example Street" not in html
    [placed_fr] = [m for m in french if m["Subject"].startswith("Commande")]
    assert "nous la préparons" in placed_fr["Subject"]
    assert "Présentez ce code au comptoir" in bodies(placed_fr)[0]
    row = outbox(template="order_placed", to_address="amelie@example.com")[0]
    assert placed_fr["Message-ID"] == message_id(row.dedupe_key, app.config["MAIL_FROM"]) == row.provider_id


def test_mail_server_down_then_back_every_message_arrives_exactly_once(app, smtp_server, frozen_clock):
    for n in range(5):
        accounts.sign_up(f"outage{n}@example.com", "password-123", "Outage")
    db.session.commit()
    smtp_server.stop()
    assert deliver_due() == {"retrying": 5}
    assert {(m.status, m.attempts) for m in outbox()} == {("queued", 1)}
    assert all("smtp unavailable" in m.reason for m in outbox())

    smtp_server.start()
    assert deliver_due() == {}  # not due yet: backoff
    frozen_clock.advance(hours=1)
    assert deliver_due() == {"sent": 5}
    frozen_clock.advance(hours=5)
    assert deliver_due() == {}
    assert sorted(m["To"] for m in smtp_server.received) == [f"outage{n}@example.com" for n in range(5)]
    assert {(m.status, m.attempts) for m in outbox()} == {("sent", 2)}


def test_retries_back_off_with_jitter_then_fail_and_a_resend_delivers(client, app, smtp_server, frozen_clock,
                                                                       store_world):
    app.config.update(OUTBOX_MAX_ATTEMPTS=4, OUTBOX_RETRY_BASE_SECONDS=60, OUTBOX_RETRY_MAX_SECONDS=3600)
    try:
        accounts.sign_up("patient@example.com", "password-123", "Patient")
        db.session.commit()
        smtp_server.stop()
        waits = []
        for _ in range(3):
            deliver_due()
            [row] = outbox()
            waits.append((row.due_at - frozen_clock.now).total_seconds())
            frozen_clock.set(row.due_at)
        assert [30 <= waits[0] <= 60, 60 <= waits[1] <= 120, 120 <= waits[2] <= 240] == [True] * 3
        deliver_due()
    finally:
        app.config.update(OUTBOX_MAX_ATTEMPTS=8)
    [row] = outbox()
    assert row.status == "failed" and row.attempts == 4 and row.reason.startswith("gave up after 4 attempts")

    smtp_server.start()
    staff = f.bearer(f.user("admin"))  # an email verification belongs to no store: an admin resends it
    db.session.commit()
    assert client.post(f"/api/v1/messages/{row.id}/resend", headers=store_world["staff"]).status_code == 404
    resent = client.post(f"/api/v1/messages/{row.id}/resend", headers=staff)
    assert resent.status_code == 200 and resent.get_json()["status"] == "queued"
    again = client.post(f"/api/v1/messages/{row.id}/resend", headers=staff)
    assert again.status_code == 409 and again.get_json()["code"] == "message_not_failed"
    assert deliver_due() == {"sent": 1}
    assert [m["To"] for m in smtp_server.received] == ["patient@example.com"]


def test_a_refused_recipient_fails_at_once(app, smtp_server):
    smtp_server.refuse.add("nobody@example.com")
    accounts.sign_up("nobody@example.com", "password-123", "Nobody")
    db.session.commit()
    assert deliver_due() == {"failed": 1}
    [row] = outbox()
    assert row.status == "failed" and row.attempts == 1 and row.reason.startswith("smtp 550")
    assert smtp_server.received == []


def test_a_message_sent_later_is_dated_by_the_clock(app, smtp_server, frozen_clock):
    frozen_clock.set(dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC))
    accounts.sign_up("dated@example.com", "password-123", "Dated")
    db.session.commit()
    deliver_due()
    [mail] = smtp_server.received
    assert mail["Date"].datetime == dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)
