"""Helpers for the marketing console's tests: sign in through its form, a world with one account of
each role, and the demo campaign run through the real flow to figures a test can predict."""

from __future__ import annotations

import datetime as dt

import pytest

from shop.core.extensions import db
from tests.support import factories as f
from tests.support.campaigns import demo_campaign, grant, recovery_path, tick
from tests.support.messages import outbox
from tests.support.orders import cart_for, checkout
from tests.support.tablet import PASSWORD, csrf_of

SIGN_IN = "/marketing/sign-in"


def sign_in(client, email: str, password: str = PASSWORD, next_: str | None = None):
    """Sign in through the console's form, as a person would: the form's token, then the post."""
    token = csrf_of(client.get(SIGN_IN).get_data(as_text=True))
    data = {"email": email, "password": password, "csrf_token": token}
    if next_:
        data["next"] = next_
    return client.post(SIGN_IN, data=data)


def page_token(client, path: str = "/marketing") -> str:
    return csrf_of(client.get(path).get_data(as_text=True))


@pytest.fixture
def console_world(app):
    """Store NYC (MUG x10 at $12.00), the demo's abandoned-cart campaign (active), and one account of
    each role: marketer@, boss@ (admin), clerk@ (staff of NYC), shopper@ (customer). PASSWORD for all."""
    store = f.store(code="NYC", name="Omnishop SoHo")
    f.stock(store, f.product(sku="MUG", price=1200, name="Ceramic Mug"), 10)
    f.user("marketing", email="marketer@example.com")
    f.user("admin", email="boss@example.com")
    f.user("staff", [store], email="clerk@example.com")
    f.user(email="shopper@example.com")
    db.session.commit()
    return {"store": store, "campaign_id": demo_campaign()}


def run_abandoned_carts(client, store, clock) -> dict:
    """The demo campaign's first step through the real flow (carts idle, the sweeps, the tagged links,
    checkouts), to known figures: four guest carts with email consent go idle and get step 1, three
    open their link, two order: ann 1 mug a day after the message, bob 2 mugs three days after.
    Returns the two order days (UTC)."""
    carts = {}
    for name, mugs in (("ann", 1), ("bob", 2), ("cy", 1), ("dee", 1)):
        carts[name] = cart_for(client, store, lines=(("MUG", mugs),), email=f"{name}@example.com")
        grant("email", email=f"{name}@example.com")
    clock.advance(hours=1, minutes=1)
    tick()
    links = {m.to_address: m.context["recovery_url"] for m in outbox(template="abandoned_cart_1")}
    assert len(links) == 4, links
    for name in ("ann", "bob", "cy"):
        assert client.get(recovery_path(links[f"{name}@example.com"])).status_code == 200
    days = []
    for name, wait in (("ann", 1), ("bob", 2)):
        clock.advance(days=wait)
        placed = checkout(client, carts[name], sms_updates=False)
        assert placed.status_code == 201, placed.get_json()
        days.append(clock.now.astimezone(dt.UTC).date())
    db.session.expire_all()
    return {"ann": days[0], "bob": days[1]}
