"""The marketing console at /marketing: the tablet's sign-in, session and CSRF rules for marketing
and admin (staff and shoppers refused, anonymous sent to sign in), pause and resume through the
campaigns' service, and the report page's charts drawn from the campaign's real figures."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from notifications.campaigns.demo import default_campaign
from notifications.campaigns.models import Campaign
from shop.core.clock import clock
from shop.core.extensions import db
from tests.support import console
from tests.support.campaigns import campaign
from tests.support.clock import TestClock
from tests.support.tablet import sign_in as tablet_sign_in

COOKIE = "omnishop_session"


@pytest.fixture
def marketer(client, console_world):
    assert console.sign_in(client, "marketer@example.com").status_code == 302
    return console_world


def page(client, path: str) -> str:
    resp = client.get(path)
    assert resp.status_code == 200, (path, resp.status_code)
    return resp.get_data(as_text=True)


def test_anonymous_visitors_go_to_the_sign_in_and_come_back(client, console_world):
    cid = console_world["campaign_id"]
    for path in ("/marketing", f"/marketing/campaigns/{cid}"):
        resp = client.get(path)
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/marketing/sign-in?next=")
    form = page(client, f"/marketing/sign-in?next=/marketing/campaigns/{cid}")
    assert "Sign in to the marketing console" in form and '<label for="email">' in form
    resp = console.sign_in(client, "marketer@example.com", next_=f"/marketing/campaigns/{cid}")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/marketing/campaigns/{cid}"


@pytest.mark.parametrize("email", ["marketer@example.com", "boss@example.com"])
def test_marketing_and_admin_see_the_campaigns(client, console_world, email):
    resp = console.sign_in(client, email)
    assert resp.status_code == 302 and resp.headers["Location"] == "/marketing"
    html = page(client, "/marketing")
    assert "Abandoned cart" in html and "status-active" in html
    assert 'aria-label="Pause Abandoned cart"' in html


def test_a_clerk_signed_in_at_the_counter_is_refused_the_console_and_a_marketer_the_counter(app, client,
                                                                                         console_world):
    tablet_sign_in(client, "clerk@example.com")
    refused = client.get("/marketing")
    assert refused.status_code == 403 and "These pages are for the marketing team." in refused.get_data(as_text=True)
    assert client.get("/stores/NYC/tablet").status_code == 200  # their counter session is untouched
    other = app.test_client()
    console.sign_in(other, "marketer@example.com")
    counter = other.get("/stores/NYC/tablet")
    assert counter.status_code == 403 and "These pages are for store staff." in counter.get_data(as_text=True)
    assert tablet_sign_in(app.test_client(), "marketer@example.com").status_code == 403


def test_pause_and_resume_through_the_forms(client, marketer):
    cid = marketer["campaign_id"]
    token = console.page_token(client)
    resp = client.post(f"/marketing/campaigns/{cid}/pause", data={"csrf_token": token, "next": "/marketing"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/marketing"
    assert campaign(cid).status == "paused"
    html = page(client, "/marketing")
    assert "Abandoned cart is paused" in html and 'aria-label="Resume Abandoned cart"' in html
    resp = client.post(f"/marketing/campaigns/{cid}/activate", data={"csrf_token": token})
    assert resp.status_code == 303 and resp.headers["Location"] == f"/marketing/campaigns/{cid}"
    assert campaign(cid).status == "active"
    assert "Abandoned cart is active." in page(client, f"/marketing/campaigns/{cid}")


def test_an_action_without_the_token_or_from_another_site_is_refused_and_changes_nothing(app, client, marketer):
    cid = marketer["campaign_id"]
    path = f"/marketing/campaigns/{cid}/pause"
    assert client.post(path).status_code == 403
    assert client.post(path, data={"csrf_token": "forged-token"}).status_code == 403
    other_site = client.post(path, data={"csrf_token": console.page_token(client)},
                             headers={"Origin": "https://evil.example"})
    assert other_site.status_code == 403 and "another site" in other_site.get_data(as_text=True)
    other = app.test_client()  # a token of another session does not serve this one
    console.sign_in(other, "boss@example.com")
    assert other.post(path, data={"csrf_token": console.page_token(client)}).status_code == 403
    assert client.post("/marketing/sign-out").status_code == 403
    assert campaign(cid).status == "active"


def test_a_draft_cannot_be_paused_and_an_unknown_campaign_is_a_404_page(client, marketer):
    draft = Campaign(status="draft", **{**default_campaign(), "name": "Spring draft"})
    db.session.add(draft)
    db.session.commit()
    token = console.page_token(client)
    resp = client.post(f"/marketing/campaigns/{draft.id}/pause", data={"csrf_token": token})
    assert resp.status_code == 409 and "activate it first" in resp.get_data(as_text=True)
    assert campaign(draft.id).status == "draft"
    assert 'aria-label="Activate Spring draft"' in page(client, "/marketing")
    for path in ("/marketing/campaigns/999999", "/marketing/campaigns/99999999999999999999"):
        assert client.get(path).status_code == 404
    assert client.post("/marketing/campaigns/999999/activate", data={"csrf_token": token}).status_code == 404
    assert client.get("/marketing?cursor=not-a-cursor").status_code == 422


def test_sign_out_ends_the_session(client, marketer):
    token = console.page_token(client)
    resp = client.post("/marketing/sign-out", data={"csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == "/marketing/sign-in"
    assert client.get("/marketing").status_code == 302


def test_the_console_signs_out_when_idle(app, client, console_world, monkeypatch):
    start = dt.datetime.now(dt.UTC)
    monkeypatch.setattr(clock, "now", lambda: start)
    console.sign_in(client, "marketer@example.com")
    monkeypatch.setattr(clock, "now", lambda: start + dt.timedelta(seconds=app.config["SESSION_IDLE_SECONDS"] + 1))
    resp = client.get("/marketing")
    assert resp.status_code == 302
    assert "without activity" in page(client, resp.headers["Location"])


def test_the_report_page_draws_the_real_figures(app, client, console_world, monkeypatch):
    frozen = TestClock(dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC))
    monkeypatch.setattr(clock, "now", lambda: frozen.now)
    days = console.run_abandoned_carts(client, console_world["store"], frozen)
    console.sign_in(client, "marketer@example.com")
    html = page(client, f"/marketing/campaigns/{console_world['campaign_id']}")

    step_one = re.search(r'<figure class="funnel" data-step="1">(.*?)</figure>', html, re.S).group(1)
    bars = dict(re.findall(r'data-stage="(\w+)" data-value="(\d+)"', step_one))
    assert bars == {"enrolled": "4", "sent": "4", "delivered": "4", "clicked": "3", "orders": "2"}
    widths = re.findall(r'<rect x="\d+" y="\d+" width="([\d.]+)"', step_one)
    assert [float(w) for w in widths] == [330.0, 330.0, 330.0, 247.5, 165.0]  # shares of the 4 enrolled
    assert "Enrolled 4, Sent 4, Delivered 4, Clicked 3, Orders 2." in step_one  # its <desc>
    step_three = re.search(r'data-step="3">(.*?)</figure>', html, re.S).group(1)
    assert set(re.findall(r'data-value="(\d+)"', step_three)) == {"0"}

    points = re.findall(r'<circle class="point" cx="([\d.]+)" cy="([\d.]+)" r="5" data-date="([\d-]+)" '
                        r'data-revenue="(\d+)"', html)
    assert [(date, int(revenue)) for _, _, date, revenue in points] == [(days["ann"].isoformat(), 1200),
                                                                        (days["bob"].isoformat(), 2400)]
    (ann_x, ann_y, _, _), (bob_x, bob_y, _, _) = points
    assert float(bob_y) == 12.0 and float(ann_y) == 98.0  # the top of the plot, and half way (184 is zero)
    assert float(bob_x) == 624.0  # bob's day is today: the line's last point
    assert f"{days['ann']}: $12.00 (1 order); {days['bob']}: $24.00 (1 order)." in html  # the line's <desc>
    table = re.search(r'<table class="figures" id="revenue-table">(.*?)</table>', html, re.S).group(1)
    assert "$12.00" in table and "$24.00" in table
    assert re.search(r'id="total-revenue">\$36\.00<', html) and re.search(r'id="total-orders">2<', html)
    listing = page(client, "/marketing")
    assert "$36.00" in listing
