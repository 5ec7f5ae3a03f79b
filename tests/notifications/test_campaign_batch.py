"""A batch of abandoned carts enrols exactly as the same carts one by one would, in the same order:
the same enrolments and the same carts left out (audience who, stores, minimum value, consent
withdrawn, pending or stopped by text, the cool-down, an earlier cart of the same contact), with
the same due times and facts. And the batch consent check says what the single one says."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from notifications import consent
from notifications.campaigns.enrolment import Entrant, enrol_many
from notifications.campaigns.models import Campaign, Enrolment
from notifications.consent_models import ConsentRecord
from shop.core.clock import clock
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.campaigns import grant

HOUR = 60
EMAIL_STEPS = [{"delay_minutes": HOUR, "channel": "email", "template": "abandoned_cart_1", "incentive": None}]
BOTH_STEPS = [*EMAIL_STEPS,
              {"delay_minutes": 24 * HOUR, "channel": "sms", "template": "abandoned_cart_2", "incentive": None}]
AUDIENCES = {  # name: (audience, steps)
    "anyone": ({}, BOTH_STEPS),
    "customers at A over $20": ({"who": "customer", "store_ids": ["A"], "min_cart_value": 2000}, EMAIL_STEPS),
    "guests by text": ({"who": "guest", "channels": ["sms"]}, BOTH_STEPS),
}


@pytest.fixture
def world(app, frozen_clock):
    """Two stores, three active campaigns, and the consent and past enrolments the carts meet."""
    stores = {"A": f.store(), "B": f.store()}
    campaigns = {}
    for name, (audience, steps) in AUDIENCES.items():
        if "store_ids" in audience:
            audience = {**audience, "store_ids": [stores[code].id for code in audience["store_ids"]]}
        campaign = Campaign(name=name, trigger="cart_abandoned", status="active", audience=audience, steps=steps,
                            exit_on=["order_placed"], activated_at=clock.now())
        db.session.add(campaign)
        campaigns[name] = campaign
    ann, bob, cy = (f.user(email=f"{who}@example.com") for who in ("ann", "bob", "cy"))
    db.session.commit()
    for who in (ann, bob, cy):
        grant("email", customer_id=who.id, email=who.email)
    for email in ("guest@example.com", "gone@example.com", "cool@example.com", "old@example.com"):
        grant("email", email=email)
    grant("email", email="gone@example.com", state="withdrawn")
    grant("email", email="pending@example.com", state="pending")
    grant("sms", phone="+14155550101")
    grant("sms", phone="+14155550102")
    consent.stop_texts("+14155550102", "STOP")
    db.session.commit()
    anyone = campaigns["anyone"]
    for email, days_ago, status in (("cool@example.com", 3, "completed"), ("old@example.com", 8, "completed")):
        at = clock.now() - dt.timedelta(days=days_ago)
        db.session.add(Enrolment(campaign_id=anyone.id, subject=f"cart:earlier-{email}", contact=f"email:{email}",
                                 email=email, facts={}, anchor_at=at, next_step=1, status=status, reason="done",
                                 created_at=at, ended_at=at))
    db.session.commit()
    return {"stores": {code: s.id for code, s in stores.items()}, "ann": ann.id, "bob": bob.id, "cy": cy.id,
            "campaigns": {c.id: name for name, c in campaigns.items()}}


def carts(world) -> list[Entrant]:
    """The batch, longest idle first, as the sweep's signal would carry it."""
    a, b = world["stores"]["A"], world["stores"]["B"]
    idle = clock.now() - dt.timedelta(hours=1, minutes=5)

    def cart(n, store, subtotal, **who):
        return Entrant(f"cart:c{n}", store_id=store, cart_id=f"c{n}", at=idle + dt.timedelta(minutes=n),
                       facts={"subtotal": subtotal, "currency": "USD", "line_count": 1, "idle_since": idle}, **who)

    return [
        cart(1, a, 2900, email="guest@example.com"),
        cart(2, a, 2900, email="gone@example.com"),  # withdrew offers by email
        cart(3, b, 900, phone="+14155550101"),  # a guest reachable by text only
        cart(4, a, 2500, customer_id=world["ann"], email="ann@example.com"),
        cart(5, b, 5000, customer_id=world["bob"], email="bob@example.com"),  # another store
        cart(6, a, 1000, customer_id=world["cy"], email="cy@example.com"),  # under $20
        cart(7, a, 2900, email="cool@example.com"),  # entered 3 days ago: cooling down
        cart(8, a, 2900, email="old@example.com"),  # entered 8 days ago: out of it
        cart(9, a, 3000, customer_id=world["ann"], email="ann@example.com"),  # Ann's second cart, same batch
        cart(10, a, 2900, email="pending@example.com"),  # yes awaiting its confirmation
        cart(11, a, 2900, phone="+14155550102"),  # texted STOP after agreeing
        cart(12, a, 2900),  # nobody to tell
    ]


EXPECTED = {
    ("anyone", "cart:c1"), ("anyone", "cart:c3"), ("guests by text", "cart:c3"),
    ("anyone", "cart:c4"), ("customers at A over $20", "cart:c4"),
    ("anyone", "cart:c5"), ("anyone", "cart:c6"), ("anyone", "cart:c8"),
}


def entered(world) -> set[tuple]:
    """What the enrolments made now hold, per campaign and cart (then forgotten: rolled back)."""
    rows = db.session.execute(select(Enrolment).where(Enrolment.subject.like("cart:c%"))).scalars().all()
    found = {(world["campaigns"][e.campaign_id], e.subject, e.contact, e.customer_id, e.cart_id, e.store_id,
              e.email, e.phone, e.anchor_at, e.next_due_at, e.status, e.next_step, e.created_at,
              tuple(sorted(e.facts.items()))) for e in rows}
    db.session.rollback()
    return found


def test_a_batch_enrols_what_the_same_carts_one_by_one_would(world):
    batch = carts(world)
    added = enrol_many("cart_abandoned", batch)
    db.session.flush()
    together = entered(world)

    one_by_one = []
    for entrant in batch:
        one_by_one += enrol_many("cart_abandoned", [entrant])
    db.session.flush()
    alone = entered(world)

    assert together == alone
    assert {(campaign, subject) for campaign, subject, *_ in together} == EXPECTED
    assert len(added) == len(one_by_one) == len(EXPECTED)
    ann_in_anyone = next(row for row in together if row[:2] == ("anyone", "cart:c4"))
    assert ann_in_anyone[2:4] == (f"customer:{world['ann']}", world["ann"])
    anchor = clock.now() - dt.timedelta(minutes=61)
    assert ann_in_anyone[8:10] == (anchor, anchor + dt.timedelta(hours=1))  # due an hour after it went idle
    assert dict(ann_in_anyone[13])["idle_since"] == (anchor - dt.timedelta(minutes=4)).isoformat()


def test_a_batch_enrolled_again_adds_nothing(world):
    batch = carts(world)
    assert len(enrol_many("cart_abandoned", batch)) == len(EXPECTED)
    assert enrol_many("cart_abandoned", batch) == []  # a repeated signal: every one still active
    db.session.rollback()


def test_the_batch_consent_check_says_what_the_single_one_says(world):
    erased = consent.erased_form("erased@example.com")
    for state in ("granted", "withdrawn"):  # a yes kept from before an erasure does not count; a no does
        db.session.add(ConsentRecord(address=erased if state == "granted" else consent.erased_form("no@example.com"),
                                     channel="email", purpose="marketing", state=state, source="web", wording="x",
                                     reference=""))
    db.session.commit()
    people = [(None, "guest@example.com", None), (None, "GONE@example.com", None), (None, "pending@example.com", None),
              (world["ann"], "ann.new@example.com", None), (None, "erased@example.com", None),
              (None, "no@example.com", None), (None, "nobody@example.com", None), (None, None, "+14155550101"),
              (None, None, "+14155550102"), (world["bob"], None, None), (None, None, None)]
    for channel in ("email", "sms"):
        for purpose in ("marketing", "transactional"):
            single = [consent.allowed(channel, purpose, customer_id=c, email=e, phone=p) for c, e, p in people]
            assert consent.allowed_many(channel, purpose, people) == single, (channel, purpose)
    assert consent.allowed_many("email", "marketing", people[:7]) == [
        (True, None), (False, "unsubscribed"), (False, "confirmation_pending"), (True, None),
        (False, "no_marketing_consent"), (False, "unsubscribed"), (False, "no_marketing_consent")]
    assert consent.allowed_many("sms", "marketing", people[7:9]) == [(True, None), (False, "sms_stopped")]
