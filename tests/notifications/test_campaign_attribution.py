"""Attribution, last touch: an order after a click on a tagged link within the campaign's window
(5 days after the message) credits the step; after 6 days it does not. The report's figures."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tests.support.campaigns import demo_campaign, grant, marketer, recovery_path, tick
from tests.support.messages import outbox
from tests.support.orders import cart_for, checkout

NEW_YORK = ZoneInfo("America/New_York")
EMAIL = "ivy@example.com"


@pytest.fixture
def clicked(client, store_world, frozen_clock, smtp_server):
    """A guest cart abandoned, its first campaign email sent and its link opened at once."""
    frozen_clock.set(dt.datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK))
    cart_id = cart_for(client, store_world["store"], email=EMAIL)
    campaign_id = demo_campaign()
    grant("email", email=EMAIL)
    frozen_clock.advance(hours=1, minutes=1)
    tick()
    [message] = outbox(template="abandoned_cart_1")
    opened = client.get(recovery_path(message.context["recovery_url"]))
    assert opened.status_code == 200 and opened.get_json()["cart_id"] == cart_id
    return {"cart_id": cart_id, "campaign_id": campaign_id}


def report_of(client, clicked, query: str = "") -> dict:
    resp = client.get(f"/api/v1/campaigns/{clicked['campaign_id']}/report{query}", headers=marketer())  # signed in now
    assert resp.status_code == 200
    return resp.get_json()


def test_an_order_within_5_days_of_the_message_after_a_click_counts(client, clicked, frozen_clock):
    frozen_clock.advance(days=4, hours=23)
    placed = checkout(client, clicked["cart_id"])
    assert placed.status_code == 201, placed.get_json()
    total = placed.get_json()["order"]["total"]

    report = report_of(client, clicked)
    first = report["steps"][0]
    assert (first["enrolled"], first["sent"], first["delivered"], first["clicked"]) == (1, 1, 1, 1)
    assert (first["orders"], first["revenue"]) == (1, total)
    assert (report["orders"], report["revenue"], report["exited"]) == (1, total, {"order_placed": 1})
    assert report["daily_revenue"] == [{"date": frozen_clock.now.date().isoformat(), "revenue": total, "orders": 1}]
    today = frozen_clock.now.replace(hour=0, minute=0, second=0).isoformat().replace("+00:00", "Z")
    since_today = report_of(client, clicked, f"?from={today}")  # the order today; the email days ago
    assert (since_today["orders"], since_today["steps"][0]["sent"], since_today["steps"][0]["orders"]) == (1, 0, 1)


def test_an_order_6_days_after_the_message_does_not(client, clicked, frozen_clock):
    frozen_clock.advance(days=6)
    assert checkout(client, clicked["cart_id"]).status_code == 201
    report = report_of(client, clicked)
    assert report["steps"][0]["clicked"] == 1
    assert (report["orders"], report["revenue"], report["daily_revenue"]) == (0, 0, [])


def test_an_unsubscribe_after_a_message_is_counted_against_its_step(client, clicked, frozen_clock):
    frozen_clock.advance(hours=3)
    grant("email", email=EMAIL, state="withdrawn")
    report = report_of(client, clicked)
    assert [step["unsubscribed"] for step in report["steps"]] == [1, 0, 0]
