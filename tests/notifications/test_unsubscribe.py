"""One-click unsubscribe links: a GET (what mail scanners do) changes nothing, a POST unsubscribes,
a tampered or expired link is a clear 4xx, and the page is locked down."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from notifications import consent, unsubscribe
from notifications.consent_models import ConsentRecord
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.spec_coverage import current_spec

ONE_CLICK = {"List-Unsubscribe": "One-Click"}  # RFC 8058's body, form-encoded
GUEST = "guest@example.com"


@pytest.fixture
def public(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://shop.example.com")
    return app


def _path(url: str) -> str:
    assert url.startswith("https://shop.example.com/api/v1/unsubscribe/")
    return url.removeprefix("https://shop.example.com")


def _ledger_size() -> int:
    return db.session.scalar(select(func.count()).select_from(ConsentRecord))


def _granted(email=GUEST, customer_id=None):
    consent.record("email", "marketing", "granted", "web", "Send me offers", email=email, customer_id=customer_id)
    db.session.commit()


def test_the_link_is_absolute_from_the_public_base_url(public):
    url = unsubscribe.make_url("email", "Guest@Example.com")
    assert re.fullmatch(r"https://shop\.example\.com/api/v1/unsubscribe/[A-Za-z0-9_.-]+", url)


def test_opening_the_link_shows_a_button_and_changes_nothing(client, public):
    _granted()
    path = _path(unsubscribe.make_url("email", GUEST))
    for _ in range(3):  # a scanner, a preview, the person
        resp = client.get(path)
        assert resp.status_code == 200 and resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    assert '<form method="post">' in page and "<button" in page
    assert "g•••@example.com" in page and GUEST not in page
    assert "<script" not in page
    assert _ledger_size() == 1
    assert consent.allowed("email", "marketing", email=GUEST) == (True, None)


def test_the_page_carries_security_headers(client, public):
    resp = client.get(_path(unsubscribe.make_url("email", GUEST)))
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src" not in csp and "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("body", [ONE_CLICK, None], ids=["rfc8058-one-click", "plain-post"])
def test_posting_unsubscribes_once(client, public, body):
    _granted()
    path = _path(unsubscribe.make_url("email", GUEST))
    resp = client.post(path, data=body)
    assert resp.status_code == 200 and "unsubscribed" in resp.get_data(as_text=True)
    assert consent.allowed("email", "marketing", email=GUEST) == (False, "unsubscribed")
    assert consent.allowed("email", "transactional", email=GUEST) == (True, None)  # only what the link names
    client.post(path, data=body)  # a mail app retrying
    rows = db.session.scalars(select(ConsentRecord).order_by(ConsentRecord.id)).all()
    assert [(r.state, r.source, r.address) for r in rows] == [
        ("granted", "web", GUEST), ("withdrawn", "unsubscribe_link", GUEST)]
    assert "unsubscribed" in client.get(path).get_data(as_text=True).lower()


def test_a_text_link_unsubscribes_the_number_from_marketing_texts(client, public):
    phone = "+14155550123"
    consent.record("sms", "marketing", "granted", "app", "Offers by text", phone=phone)
    db.session.commit()
    client.post(_path(unsubscribe.make_url("sms", "+1 415 555 0123")), data=ONE_CLICK)
    assert consent.allowed("sms", "marketing", phone=phone) == (False, "unsubscribed")


def test_a_guests_unsubscribe_holds_once_the_address_has_an_account(client, public):
    path = _path(unsubscribe.make_url("email", GUEST))
    client.post(path, data=ONE_CLICK)
    ann = f.user("customer", email=GUEST)
    db.session.commit()
    assert consent.allowed("email", "marketing", customer_id=ann.id, email=GUEST) == (False, "unsubscribed")
    prefs = client.get("/api/v1/me/preferences", headers=f.bearer(ann)).get_json()
    assert [h["source"] for h in prefs["history"]] == ["unsubscribe_link"]


def test_a_customers_unsubscribe_is_on_their_timeline(client, public):
    ann = f.user("customer")
    db.session.commit()
    _granted(ann.email, ann.id)
    client.post(_path(unsubscribe.make_url("email", ann.email)), data=ONE_CLICK)
    items = client.get("/api/v1/me/timeline", headers=f.bearer(ann)).get_json()["items"]
    assert ("consent.withdrawn", "email") in {(i["type"], i["channel"]) for i in items}


def test_a_tampered_link_is_a_404_page_or_problem_and_changes_nothing(client, public):
    _granted()
    path = _path(unsubscribe.make_url("email", GUEST))
    forged = _path(unsubscribe.make_url("email", "someone@example.com"))
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    # Someone else's address with this link's signature:
    mixed = forged.rsplit(".", 2)[0] + "." + ".".join(path.rsplit(".", 2)[1:])
    for bad in (tampered, mixed, "/api/v1/unsubscribe/not-a-token"):
        page = client.post(bad, data=ONE_CLICK)
        assert page.status_code == 404 and page.mimetype == "text/html"
        assert "unsubscribe_link_invalid" in page.get_data(as_text=True)
        assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
        problem = client.post(bad, headers={"Accept": "application/json"})
        assert problem.status_code == 404 and problem.mimetype == "application/problem+json"
        assert problem.get_json()["code"] == "unsubscribe_link_invalid"
    assert _ledger_size() == 1


def test_an_expired_link_is_a_410_and_changes_nothing(client, public, monkeypatch):
    _granted()
    path = _path(unsubscribe.make_url("email", GUEST))
    monkeypatch.setitem(public.config, "UNSUBSCRIBE_MAX_AGE_SECONDS", -1)
    page = client.post(path, data=ONE_CLICK)
    assert page.status_code == 410 and "unsubscribe_link_expired" in page.get_data(as_text=True)
    problem = client.get(path, headers={"Accept": "application/problem+json"})
    assert problem.status_code == 410 and problem.get_json()["code"] == "unsubscribe_link_expired"
    assert consent.allowed("email", "marketing", email=GUEST) == (True, None)


def test_a_json_client_reads_and_posts_the_link(client, public):
    _granted()
    path = _path(unsubscribe.make_url("email", GUEST))
    json_accept = {"Accept": "application/json"}
    assert client.get(path, headers=json_accept).get_json() == {
        "channel": "email", "purpose": "marketing", "address": "g•••@example.com", "unsubscribed": False}
    assert client.post(path, headers=json_accept).get_json()["unsubscribed"] is True


def test_the_spec_lists_the_page_beside_the_json_answers(app):
    """A client reading the spec learns that a browser gets pages, a JSON client JSON and problems."""
    paths = current_spec()["paths"]["/api/v1/unsubscribe/{token}"]
    for method in ("get", "post"):
        responses = paths[method]["responses"]
        assert set(responses["200"]["content"]) == {"text/html", "application/json"}
        for status, code in (("404", "unsubscribe_link_invalid"), ("410", "unsubscribe_link_expired")):
            content = responses[status]["content"]
            assert set(content) == {"text/html", "application/problem+json"}, (method, status)
            assert code in content["application/problem+json"]["schema"]["allOf"][1]["properties"]["code"]["enum"]
