"""Every HTML page (the counter tablet's and the marketing console's): a Content-Security-Policy without inline script and with frame-ancestors 'none',
nosniff and a Referrer-Policy, and no inline script in the markup; state-changing calls need the
session's CSRF token; the API docs load nothing from another host."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from shop.core.extensions import db
from shop.orders.models import Order
from tests.support import console
from tests.support.orders import cart_for, checkout
from tests.support.tablet import page_token, sign_in, step


class Markup(HTMLParser):
    """Collects inline scripts, on* handler attributes and every URL the page loads."""

    def __init__(self):
        super().__init__()
        self.inline_scripts, self.handlers, self.urls = 0, [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.handlers += [name for name in attrs if name.startswith("on")]
        if tag == "script" and not attrs.get("src"):
            self.inline_scripts += 1
        for name in ("src", "href"):
            if attrs.get(name) and (tag != "a"):
                self.urls.append(attrs[name])


def parse(html: str) -> Markup:
    markup = Markup()
    markup.feed(html)
    return markup


def assert_secure_page(resp) -> Markup:
    assert resp.mimetype == "text/html", resp.status
    csp = {part.split()[0]: part.split()[1:] for part in resp.headers["Content-Security-Policy"].split("; ")}
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no other host
    assert csp["default-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    markup = parse(resp.get_data(as_text=True))
    assert markup.inline_scripts == 0 and markup.handlers == []
    return markup


@pytest.fixture
def signed_in(client, tablet_world):
    sign_in(client, "clerk@example.com")
    return tablet_world


def placed(client, world):
    resp = checkout(client, cart_for(client, world["store"]))
    assert resp.status_code == 201
    return resp.get_json()


def test_every_page_has_the_security_headers_and_no_inline_script(client, signed_in):
    oid = placed(client, signed_in)["order"]["id"]
    pages = ["/stores/NYC/tablet", "/stores/NYC/tablet/queue", "/stores/NYC/tablet/pick-list",
             "/stores/NYC/tablet/find", f"/stores/NYC/tablet/orders/{oid}", "/stores/CHI/tablet",
             "/stores/NOPE/tablet", "/api/v1/docs"]
    for path in pages:
        assert_secure_page(client.get(path))
    token = page_token(client, "NYC")
    for action in ("picking", "ready"):  # the order in each state the page shows
        assert step(client, "NYC", oid, action, token=token).status_code == 200
        assert_secure_page(client.get(f"/stores/NYC/tablet/orders/{oid}"))
    client.post("/tablet/sign-out", data={"csrf_token": token})
    assert_secure_page(client.get("/tablet/sign-in"))


def test_every_console_page_has_them_and_loads_nothing_from_another_host(client, console_world):
    cid = console_world["campaign_id"]
    assert_secure_page(client.get("/marketing/sign-in"))
    console.sign_in(client, "marketer@example.com")
    token = console.page_token(client)
    for path in ("/marketing", f"/marketing/campaigns/{cid}", "/marketing/campaigns/999999"):
        markup = assert_secure_page(client.get(path))
        for url in markup.urls:
            assert not re.match(r"^(https?:)?//", url), f"{url} is on another host"
            assert url.startswith("data:") or client.get(url).status_code == 200, url
    assert_secure_page(client.post(f"/marketing/campaigns/{cid}/pause"))  # the CSRF refusal is a page too
    resp = client.post(f"/marketing/campaigns/{cid}/pause", data={"csrf_token": token}, follow_redirects=True)
    assert_secure_page(resp)
    client.post("/marketing/sign-out", data={"csrf_token": token})
    assert_secure_page(client.get("/marketing/sign-in"))
    tablet_sign_in = sign_in(client, "clerk@example.com")
    assert tablet_sign_in.status_code == 302
    assert_secure_page(client.get("/marketing"))  # the 403 page


def test_a_state_changing_call_without_the_token_is_refused_and_changes_nothing(client, signed_in):
    oid = placed(client, signed_in)["order"]["id"]
    for token in (None, "forged-token"):
        resp = step(client, "NYC", oid, "picking", token=token)
        assert resp.status_code == 403 and resp.get_json()["code"] == "csrf_failed"
    other_site = client.post(f"/stores/NYC/tablet/orders/{oid}/picking", json={},
                             headers={"X-CSRF-Token": page_token(client, "NYC"), "Origin": "https://evil.example",
                                      "X-Requested-With": "fetch"})
    assert other_site.status_code == 403 and other_site.get_json()["code"] == "csrf_failed"
    assert db.session.get(Order, oid).status == "placed"
    assert step(client, "NYC", oid, "picking").status_code == 200


def test_the_token_of_one_session_does_not_serve_another(app, client, signed_in):
    oid = placed(client, signed_in)["order"]["id"]
    stolen = page_token(client, "NYC")
    other = app.test_client()
    sign_in(other, "clerk@example.com")
    resp = step(other, "NYC", oid, "picking", token=stolen)
    assert resp.status_code == 403 and db.session.get(Order, oid).status == "placed"


def test_the_api_docs_reference_no_other_host_and_their_files_load(client):
    markup = assert_secure_page(client.get("/api/v1/docs"))
    assert markup.urls, "the docs page loads nothing?"
    for url in markup.urls:
        assert not re.match(r"^(https?:)?//", url), f"{url} is on another host"
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.mimetype in ("text/css", "text/javascript", "application/javascript"), (url, asset.mimetype)
    assert "swagger-ui" in client.get("/api/v1/docs").get_data(as_text=True)
