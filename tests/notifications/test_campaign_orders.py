"""Campaigns on order triggers: the post-pickup follow-up 14 days after the handover (with the
recommendations port when one is provided, and a feedback link), and the win-back of an expired order."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from shop.core.extensions import db
from shop.orders import sweeps as order_sweeps
from tests.support.campaigns import enrolments, grant, marketer, tick
from tests.support.pickup import ready_order

NEW_YORK = ZoneInfo("America/New_York")
EMAIL = "olga@example.com"


@pytest.fixture
def morning(frozen_clock):
    frozen_clock.set(dt.datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK))
    return frozen_clock


def campaign(client, trigger: str, template: str, minutes: int, **step) -> int:
    headers = marketer()
    body = {"name": trigger, "trigger": trigger,
            "steps": [{"delay_minutes": minutes, "channel": "email", "template": template, **step}]}
    created = client.post("/api/v1/campaigns", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    assert client.post(f"/api/v1/campaigns/{created.get_json()['id']}/activate", headers=headers).status_code == 200
    return created.get_json()["id"]


def test_the_follow_up_comes_14_days_after_the_pickup(client, app, store_world, morning, smtp_server):
    campaign_id = campaign(client, "order_picked_up", "post_pickup_follow_up", 14 * 24 * 60)
    app.config["STOREFRONT_URL"] = "https://shop.example.com"
    grant("email", email=EMAIL)
    placed = ready_order(client, store_world, email=EMAIL)
    handover = client.post(f"/api/v1/orders/{placed['order']['id']}/handover",
                           json={"pickup_code": placed["pickup_code"]}, headers=store_world["staff"])
    assert handover.status_code == 200, handover.get_json()
    morning.advance(days=13, hours=23)
    tick()
    assert [m for m in smtp_server.to(EMAIL) if "How was your order" in m["Subject"]] == []
    morning.advance(hours=2)
    tick()
    [mail] = [m for m in smtp_server.to(EMAIL) if "How was your order" in m["Subject"]]
    text = mail.get_body(("plain",)).get_content()
    assert placed["order"]["number"] in text and f"/orders/{placed['order']['id']}?token=" in text
    [enrolment] = enrolments(campaign_id)
    assert (enrolment.order_id, enrolment.status) == (placed["order"]["id"], "completed")
    app.config["STOREFRONT_URL"] = ""


def test_an_expired_order_gets_the_win_back_with_its_coupon(client, app, store_world, morning, smtp_server):
    campaign_id = campaign(client, "order_expired", "win_back", 24 * 60,
                           incentive={"kind": "percent", "value": 15, "valid_days": 30})
    grant("email", email=EMAIL)
    placed = ready_order(client, store_world, email=EMAIL)
    morning.advance(days=5)  # past the pickup deadline
    assert order_sweeps.expire_no_shows() == 1
    db.session.commit()
    morning.advance(days=1, minutes=1)
    tick()
    [mail] = [m for m in smtp_server.to(EMAIL) if "We kept a place" in m["Subject"]]
    assert "15% off your next order" in mail.get_body(("plain",)).get_content()
    assert enrolments(campaign_id)[0].order_id == placed["order"]["id"]
