"""The messages API (staff read the outbox with masked addresses, resend failed ones), previews, the brand."""

from __future__ import annotations

import pytest

from notifications import consent
from notifications.delivery import deliver_due
from notifications.outbox import enqueue
from notifications.preview import DEMO_ORDER
from notifications.rendering import render, templates
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.app import make_app
from tests.support.messages import outbox
from tests.support.paging import flat, walk


@pytest.fixture
def people(app):
    store, other = f.store(), f.store()
    users = {role: f.user(role, [store] if role == "staff" else []) for role in ("customer", "staff", "marketing",
                                                                                   "admin")}
    users["other_staff"] = f.user("staff", [other])
    db.session.commit()
    return {"store": store, "other_store": other} | {
        role: {"user": u, "headers": f.bearer(u)} for role, u in users.items()}


def order_mail(n: int, customer_id: int | None = None, order_id: int = 7, channel: str = "email",
               store_id: int | None = None):
    return enqueue(template="order_ready", channel=channel, purpose="transactional", customer_id=customer_id,
                   to="dora.smith@example.com" if channel == "email" else "+14155550123", order_id=order_id,
                   store_id=store_id, dedupe_key=f"order_ready:{order_id}:{n}:{channel}",
                   context={**DEMO_ORDER, "sms_updates": True})


def offer_mail(n: int, store_id: int | None = None):
    return enqueue(template="promotion", channel="email", purpose="marketing", to="dora.smith@example.com",
                   store_id=store_id, dedupe_key=f"promo:{n}:0:email",
                   context={"headline": "Tea", "body": "", "cta_label": "", "cta_url": ""})


def test_staff_and_admin_list_messages_with_masked_addresses_by_filter(client, people):
    customer, store = people["customer"]["user"], people["store"]
    order_mail(1, customer.id, order_id=7, store_id=store.id)
    order_mail(1, customer.id, order_id=7, channel="sms", store_id=store.id)
    order_mail(2, None, order_id=8, store_id=store.id)
    db.session.commit()
    for role in ("staff", "admin"):
        body = client.get("/api/v1/messages?order_id=7", headers=people[role]["headers"]).get_json()
        assert sorted(m["to"] for m in body["items"]) == ["d•••@example.com", "•••••••••23"]
    by_customer = client.get(f"/api/v1/messages?customer_id={customer.id}&status=queued",
                             headers=people["admin"]["headers"]).get_json()["items"]
    assert sorted((m["template"], m["order_id"]) for m in by_customer) == [
        ("email_verification", None), ("order_ready", 7), ("order_ready", 7)]
    everything = client.get("/api/v1/messages", headers=people["staff"]["headers"]).get_json()["items"]
    assert [m["id"] for m in everything] == sorted((m["id"] for m in everything), reverse=True)
    assert "dora.smith" not in str(everything) and "4155550123" not in str(everything)


def test_store_staff_see_and_resend_only_their_stores_messages(client, people):
    """A clerk of another store gets an empty page and a 404, as if the message did not exist; the
    verification email (no store) is the admin's; marketing sees offers, not order messages."""
    customer, store, other = people["customer"]["user"], people["store"], people["other_store"]
    ours = order_mail(1, customer.id, order_id=7, store_id=store.id)
    theirs = order_mail(1, customer.id, order_id=8, store_id=other.id)
    offer = offer_mail(1)
    ours.status = theirs.status = "failed"
    db.session.commit()

    def listed(role, query=""):
        resp = client.get(f"/api/v1/messages{query}", headers=people[role]["headers"])
        assert resp.status_code == 200
        return sorted((m["template"], m["order_id"]) for m in resp.get_json()["items"])

    assert listed("staff") == [("order_ready", 7)]
    assert listed("other_staff") == [("order_ready", 8)]
    assert listed("other_staff", "?order_id=7") == [] and listed("other_staff", f"?customer_id={customer.id}") == [
        ("order_ready", 8)]
    assert listed("marketing") == [("promotion", None)]
    assert listed("admin") == [("email_verification", None), ("order_ready", 7), ("order_ready", 8),
                               ("promotion", None)]
    refused = client.post(f"/api/v1/messages/{ours.id}/resend", headers=people["other_staff"]["headers"])
    assert refused.status_code == 404 and refused.get_json()["code"] == "message_not_found"
    assert client.post(f"/api/v1/messages/{offer.id}/resend", headers=people["staff"]["headers"]).status_code == 404
    assert db.session.get(type(ours), ours.id).status == "failed"
    resent = client.post(f"/api/v1/messages/{ours.id}/resend", headers=people["staff"]["headers"])
    assert resent.status_code == 200 and resent.get_json()["status"] == "queued"
    assert client.post(f"/api/v1/messages/{theirs.id}/resend", headers=people["admin"]["headers"]).status_code == 200


def test_messages_are_walked_page_by_page_through_link_newest_first(client, people):
    for n in range(5):
        order_mail(n, order_id=9)
    db.session.commit()
    headers = people["admin"]["headers"]
    before = sorted((m.id for m in outbox(order_id=9)), reverse=True)

    def arrive(page):  # newer than the cursor: not in this walk, first in the next one
        order_mail(100 + page, order_id=9)
        db.session.commit()

    pages = walk(client, "/api/v1/messages?order_id=9&limit=2", headers=headers, between=arrive, limit=2)
    assert [len(p) for p in pages] == [2, 2, 1] and flat(pages) == before
    assert flat(walk(client, "/api/v1/messages?order_id=9", headers=headers))[:2] == [before[0] + 2, before[0] + 1]
    bad = client.get("/api/v1/messages?cursor=not-ours", headers=headers)
    assert bad.status_code == 422 and bad.get_json()["code"] == "invalid_cursor"


def test_who_may_read_and_resend(client, people):
    message = order_mail(1)
    db.session.commit()
    assert client.get("/api/v1/messages").status_code == 401
    assert client.get("/api/v1/messages", headers=people["customer"]["headers"]).status_code == 403
    assert client.post(f"/api/v1/messages/{message.id}/resend", headers=people["marketing"]["headers"]).status_code == 403
    missing = client.post("/api/v1/messages/999999/resend", headers=people["admin"]["headers"])
    assert missing.status_code == 404 and missing.get_json()["code"] == "message_not_found"
    queued = client.post(f"/api/v1/messages/{message.id}/resend", headers=people["admin"]["headers"])
    assert queued.status_code == 409 and queued.get_json()["status_now"] == "queued"
    assert client.get("/api/v1/messages?status=nonsense", headers=people["admin"]["headers"]).status_code == 422


@pytest.fixture
def marketer(app):
    user = f.user("marketing")
    db.session.commit()
    return f.bearer(user)


@pytest.mark.parametrize("template", templates())
@pytest.mark.parametrize("locale", ["en", "fr"])
def test_every_template_previews_in_both_locales(client, marketer, template, locale):
    resp = client.get(f"/api/v1/messages/preview/{template}?locale={locale}", headers=marketer)
    assert resp.status_code == 200
    body = resp.get_json()
    if "email" in body["channels"]:
        assert body["subject"] and body["text"] and body["html"].startswith("<!doctype html>")
        assert "Omnishop" in body["text"] and "#1f4e79" in body["html"]
    if "sms" in body["channels"]:
        assert body["sms"].startswith("Omnishop")
    french = ("Une question" in (body["text"] or "")) or (" : " in (body["sms"] or ""))
    assert french == (locale == "fr")


def test_preview_shows_the_qr_inline_and_refuses_unknown_names_and_locales(client, people):
    headers = people["staff"]["headers"]
    placed = client.get("/api/v1/messages/preview/order_placed", headers=headers).get_json()
    assert 'src="data:image/png;base64,' in placed["html"] and placed["sms"] is None
    unknown = client.get("/api/v1/messages/preview/no_such_template", headers=headers)
    assert unknown.status_code == 404 and unknown.get_json()["code"] == "template_not_found"
    assert client.get("/api/v1/messages/preview/order_placed?locale=de", headers=headers).status_code == 422
    assert client.get("/api/v1/messages/preview/order_placed", headers=people["customer"]["headers"]).status_code == 403


def test_html_is_escaped_and_text_is_not(app):
    context = {**DEMO_ORDER, "store_name": 'Tom & Jerry <script>alert("x")</script>'}
    mail = render("order_ready", "email", "en", context, purpose="transactional", to="a@example.com")
    assert "<script>" not in mail.html and "Tom &amp; Jerry &lt;script&gt;" in mail.html
    assert 'Tom & Jerry <script>alert("x")</script>' in mail.text


def test_the_brand_is_on_every_channel(app):
    app.config.update(BRAND_NAME="Maison Thé", BRAND_PRIMARY_COLOR="#123456", BRAND_LOGO_URL="https://cdn.example/l.png",
                      BRAND_FOOTER="Since 1902")
    try:
        mail = render("order_ready", "email", "fr", DEMO_ORDER, purpose="transactional", to="a@example.com")
        sms = render("order_ready", "sms", "fr", DEMO_ORDER, purpose="transactional", to="+14155550123")
    finally:
        app.config.update(BRAND_NAME="Omnishop", BRAND_PRIMARY_COLOR="#1f4e79", BRAND_LOGO_URL="", BRAND_FOOTER="")
    assert "#123456" in mail.html and 'src="https://cdn.example/l.png"' in mail.html and "Since 1902" in mail.html
    assert "Maison Thé - Since 1902" in mail.text and sms.sms.startswith("Maison Thé :")


def test_a_wrong_brand_colour_or_backend_stops_the_app_at_start(database_url):
    with pytest.raises(RuntimeError, match="BRAND_PRIMARY_COLOR"):
        make_app(database_url, BRAND_PRIMARY_COLOR="red;background:url(x)")
    with pytest.raises(RuntimeError, match="MAIL_BACKEND"):
        make_app(database_url, MAIL_BACKEND="carrier-pigeon")


def test_consent_is_checked_again_at_send_time(app):
    user = f.user("customer")
    consent.record("email", "marketing", "granted", "web", "Offers", customer_id=user.id)
    enqueue(template="promotion", channel="email", purpose="marketing", to=user.email, customer_id=user.id,
            dedupe_key="promo:1:0:email", context={"headline": "Tea", "body": "", "cta_label": "", "cta_url": ""})
    enqueue(template="promotion", channel="email", purpose="marketing", to="guest-never-asked@example.com",
            dedupe_key="promo:2:0:email", context={"headline": "Tea", "body": "", "cta_label": "", "cta_url": ""})
    db.session.commit()
    consent.record("email", "marketing", "withdrawn", "unsubscribe_link", "Unsubscribe", customer_id=user.id)
    deliver_due()
    assert {(m.to_address, m.status, m.reason) for m in outbox(template="promotion")} == {
        (user.email, "skipped", "unsubscribed"), ("guest-never-asked@example.com", "skipped", "no_marketing_consent")}


def test_a_stop_between_queueing_and_sending_skips_the_order_text(app):
    consent.record("sms", "transactional", "withdrawn", "sms_keyword", "STOP", phone="+14155550124")
    enqueue(template="order_ready", channel="sms", purpose="transactional", to="+14155550124",
            dedupe_key="order_ready:77:0:sms", context={**DEMO_ORDER, "sms_updates": True, "store_timezone": "UTC"},
            timezone="Pacific/Kiritimati")
    db.session.commit()
    deliver_due()
    [text] = outbox()
    assert (text.status, text.reason) == ("skipped", "sms_stopped")
