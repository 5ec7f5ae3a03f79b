"""The marketing console in a real browser (headless Chromium) against a live server: a marketer
signs in, pauses and resumes the abandoned-cart campaign, and reads its report, whose SVG funnel and
revenue line show the figures of a real run (carts, sweeps, tagged links, orders); a clerk and a
shopper are refused. Screenshots of the list and the report at 1280x800."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from shop.core.clock import clock
from tests.support.campaigns import campaign
from tests.support.clock import TestClock
from tests.support.console import run_abandoned_carts

pytestmark = [pytest.mark.browser, pytest.mark.postgres]  # in the PostgreSQL half only, as the tablet's

DESK = {"width": 1280, "height": 800}


def csp_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    return errors


def sign_in(page, base: str, email: str, path: str = "/marketing"):
    page.goto(base + path)
    assert "/marketing/sign-in" in page.url
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("password-123")
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def ran(client, console_world, monkeypatch):
    """The demo campaign after a real run, with the clock frozen where the run left it."""
    frozen = TestClock(dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=4))
    monkeypatch.setattr(clock, "now", lambda: frozen.now)
    days = run_abandoned_carts(client, console_world["store"], frozen)
    return {**console_world, "days": days}


def test_a_marketer_pauses_and_resumes_and_reads_the_report(ran, live_server, browser_context, screenshots):
    base, cid = live_server, ran["campaign_id"]
    page = browser_context(viewport=DESK).new_page()
    blocked = csp_errors(page)
    sign_in(page, base, "marketer@example.com")
    page.wait_for_url(re.compile(r"/marketing$"))
    page.get_by_role("heading", name="Campaigns").wait_for()
    row = page.locator(f'tr[data-campaign="{cid}"]')
    assert "active" in row.inner_text() and "$36.00" in row.inner_text()
    page.screenshot(path=screenshots / "console-campaigns-1280x800.png", full_page=True)

    row.get_by_role("button", name="Pause Abandoned cart").click()
    page.get_by_text("Abandoned cart is paused").wait_for()
    assert "paused" in row.inner_text() and campaign(cid).status == "paused"
    row.get_by_role("button", name="Resume Abandoned cart").click()
    page.get_by_text("Abandoned cart is active.").wait_for()
    assert campaign(cid).status == "active"

    row.get_by_role("link", name="Abandoned cart").click()
    page.get_by_role("heading", name="Abandoned cart", level=1).wait_for()
    funnel = page.get_by_role("img", name="Funnel of step 1 (email)")
    stages = funnel.locator("g.stage")
    assert [(g.get_attribute("data-stage"), g.get_attribute("data-value")) for g in stages.all()] == [
        ("enrolled", "4"), ("sent", "4"), ("delivered", "4"), ("clicked", "3"), ("orders", "2")]
    widths = [box["width"] for box in (rect.bounding_box() for rect in funnel.locator("rect").all())]
    assert widths[0] == pytest.approx(widths[1]) and widths[3] == pytest.approx(widths[0] * 3 / 4, rel=0.02)
    assert widths[4] == pytest.approx(widths[0] / 2, rel=0.02)  # drawn as the browser lays it out

    line = page.get_by_role("img", name=re.compile("Recovered revenue per day"))
    points = line.locator("circle.point")
    assert [(p.get_attribute("data-date"), p.get_attribute("data-revenue")) for p in points.all()] == [
        (ran["days"]["ann"].isoformat(), "1200"), (ran["days"]["bob"].isoformat(), "2400")]
    ann, bob = (p.bounding_box() for p in points.all())
    assert bob["y"] < ann["y"] and bob["x"] > ann["x"]  # more revenue is higher, later is to the right
    assert page.locator("#revenue-table").get_by_role("cell", name="$24.00").is_visible()
    page.get_by_role("button", name="Pause Abandoned cart").scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "console-report-1280x800.png", full_page=True)
    assert blocked == [], blocked


@pytest.mark.parametrize("email", ["clerk@example.com", "shopper@example.com"])
def test_a_clerk_or_a_shopper_is_refused(console_world, live_server, browser_context, email):
    page = browser_context(viewport=DESK).new_page()
    sign_in(page, live_server, email)
    page.get_by_role("alert").get_by_text("These pages are for the marketing team.").wait_for()
    page.goto(live_server + "/marketing")
    assert "/marketing/sign-in" in page.url  # still not signed in


def test_a_clerk_signed_in_at_the_counter_gets_the_refusal_page(console_world, live_server, browser_context):
    page = browser_context(viewport=DESK).new_page()
    page.goto(live_server + "/tablet/sign-in")
    page.get_by_label("Email").fill("clerk@example.com")
    page.get_by_label("Password").fill("password-123")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/stores/NYC/tablet$"))
    response = page.goto(live_server + "/marketing")
    assert response.status == 403
    page.get_by_role("heading", name="These pages are for the marketing team.").wait_for()
