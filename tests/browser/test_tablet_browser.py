"""The counter screen in a real browser (headless Chromium) against a live server: a clerk signs in,
sees a new order arrive without reloading, picks it with a short line and corrects it, marks it
ready, is refused a wrong code with the attempts left, hands over with the right one; a clerk of
another store is refused. Screenshots of the queue, an order and the handover at 1024x768."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from shop.core.extensions import db
from tests.support import factories as f
from tests.support.orders import cart_for, checkout

pytestmark = [pytest.mark.browser, pytest.mark.postgres]  # ~50 s: in the PostgreSQL half only

POLL_SECONDS = 1
WAIT_MS = 15_000  # how long to wait for something to show (many refresh periods): not a speed limit


@pytest.fixture
def counter(app, live_server):
    app.config["TABLET_POLL_SECONDS"] = POLL_SECONDS
    store = f.store(code="NYC", name="Omnishop SoHo")
    mug, tea = f.product(sku="MUG", price=1200, name="Ceramic Mug"), f.product(sku="TEA", price=500, name="Tea")
    f.stock(store, mug, 10)
    f.stock(store, tea, 4)
    f.user("staff", [store], email="clerk@example.com")
    other = f.store(code="CHI")
    f.user("staff", [other], email="chicago@example.com")
    db.session.commit()
    yield {"store": store, "url": live_server}
    app.config["TABLET_POLL_SECONDS"] = 5


def csp_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    return errors


def sign_in(page, base: str, path: str, email: str):
    page.goto(base + path)
    assert "/tablet/sign-in" in page.url
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("password-123")
    page.get_by_role("button", name="Sign in").click()


def small_targets(page) -> list[str]:
    """Visible buttons, links styled as buttons, order cards and inputs shorter or narrower than 44px."""
    return page.eval_on_selector_all(
        "button, a.btn, a.card, a.chip, a.count, input:not([type=hidden]):not([type=checkbox])",
        """els => els.filter(e => e.offsetParent !== null).map(e => [e, e.getBoundingClientRect()])
                    .filter(([e, r]) => r.height < 44 || r.width < 44)
                    .map(([e, r]) => e.outerHTML.slice(0, 80) + ` ${r.width}x${r.height}`)""")


def test_a_clerk_picks_corrects_readies_and_hands_over(client, counter, browser_context, screenshots):
    base, store = counter["url"], counter["store"]
    page = browser_context().new_page()
    blocked = csp_errors(page)
    sign_in(page, base, "/stores/NYC/tablet", "clerk@example.com")
    page.wait_for_url(re.compile(r"/stores/NYC/tablet$"))
    page.get_by_role("heading", name="Pickup queue").wait_for()
    page.evaluate("window.__samePage = true")

    placed = checkout(client, cart_for(client, store, lines=(("MUG", 2), ("TEA", 1)), email="ann@example.com"))
    assert placed.status_code == 201
    body = placed.get_json()
    number, code = body["order"]["number"], body["pickup_code"]
    card = page.locator("#queue a.card", has_text=number)
    card.wait_for(timeout=WAIT_MS)  # arrived through the refresh
    assert page.evaluate("window.__samePage") is True, "the page reloaded instead of refreshing the queue"
    assert "Due today" in page.locator("#group-due_today").inner_text() or "New" in card.inner_text()
    assert small_targets(page) == []
    page.screenshot(path=screenshots / "queue-1024x768.png", full_page=True)

    card.click()
    page.get_by_role("button", name="Start picking").click()
    page.get_by_text("Picking", exact=True).first.wait_for()
    mug = page.locator(".line", has_text="MUG")
    tea = page.locator(".line", has_text="TEA")
    ready = page.get_by_role("button", name="Ready for pickup")
    assert ready.is_disabled()

    mug.get_by_role("button", name="One more Ceramic Mug found").click()
    mug.get_by_role("button", name="Rest not found").click()
    mug.get_by_text("Short: 1 of 2 found.").wait_for()
    tea.get_by_role("button", name="One more Tea found").click()
    tea.get_by_text("All 1 found.").wait_for()
    assert small_targets(page) == []
    page.screenshot(path=screenshots / "order-short-pick-1024x768.png", full_page=True)

    mug.get_by_role("button", name="One more Ceramic Mug found").click()  # the correction
    mug.get_by_text("All 2 found.").wait_for()
    assert ready.is_enabled()
    ready.click()
    page.locator("#pickup-code").wait_for()
    assert "a•••@example.com" in page.locator(".handover").inner_text()
    assert code not in page.content()  # staff never see the code

    wrong = "000000" if code != "000000" else "111111"
    page.get_by_label(re.compile("Pickup code")).fill(wrong)
    page.get_by_role("button", name="Hand over").click()
    page.get_by_text("Wrong code. 4 attempts left").wait_for()
    page.screenshot(path=screenshots / "handover-wrong-code-1024x768.png", full_page=True)

    page.get_by_label(re.compile("Pickup code")).fill(code)
    page.get_by_role("button", name="Hand over").click()
    page.locator("p.done", has_text="Handed over.").wait_for()
    assert blocked == [], blocked
    # The live server changed the order in its own threads; this thread's session may still hold the
    # order as checkout left it (kept alive until the garbage collector runs): read it afresh.
    db.session.expire_all()
    order = client.get(f"/api/v1/orders/{body['order']['id']}", headers={"X-Order-Token": body["order_token"]})
    assert order.get_json()["status"] == "picked_up" and order.get_json()["total"] == 2900


def test_a_clerk_of_another_store_is_refused(client, counter, browser_context):
    base, store = counter["url"], counter["store"]
    placed = checkout(client, cart_for(client, store)).get_json()
    page = browser_context().new_page()
    sign_in(page, base, "/stores/NYC/tablet", "chicago@example.com")
    page.get_by_role("heading", name="You are not staff of NYC.").wait_for()
    assert placed["order"]["number"] not in page.content()
    answer = page.evaluate(
        """async ([url, token]) => {
             const r = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json",
                                   "X-Requested-With": "fetch", "X-CSRF-Token": token}, body: "{}"});
             return [r.status, (await r.json()).code];
           }""",
        [f"{base}/stores/NYC/tablet/orders/{placed['order']['id']}/picking",
         page.locator('meta[name="csrf-token"]').get_attribute("content")])
    assert answer == [403, "wrong_store"]
    page.goto(base + f"/stores/NYC/tablet/orders/{placed['order']['id']}")
    assert placed["order"]["number"] not in page.content()


@pytest.mark.parametrize("size", [(1024, 768), (768, 1024), (1280, 800), (800, 1280)])
def test_the_screens_fit_landscape_and_portrait(client, counter, browser_context, size):
    base, store = counter["url"], counter["store"]
    placed = checkout(client, cart_for(client, store)).get_json()
    page = browser_context(viewport={"width": size[0], "height": size[1]}).new_page()
    sign_in(page, base, "/stores/NYC/tablet", "clerk@example.com")
    page.get_by_role("heading", name="Pickup queue").wait_for()
    for path in ("/stores/NYC/tablet", f"/stores/NYC/tablet/orders/{placed['order']['id']}",
                 "/stores/NYC/tablet/pick-list", "/stores/NYC/tablet/find"):
        page.goto(base + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways at {size}"
        assert small_targets(page) == [], path


def test_the_queue_says_when_the_network_drops_and_recovers(client, counter, browser_context):
    base = counter["url"]
    context = browser_context()
    page = context.new_page()
    sign_in(page, base, "/stores/NYC/tablet", "clerk@example.com")
    page.get_by_role("heading", name="Pickup queue").wait_for()
    context.set_offline(True)
    banner = page.locator("#connection")
    banner.get_by_text("Connection lost").wait_for(timeout=WAIT_MS)
    assert page.get_by_role("heading", name="Pickup queue").is_visible()  # the last queue stays
    context.set_offline(False)
    banner.wait_for(state="hidden", timeout=WAIT_MS)


def test_the_api_docs_work_with_no_internet(counter, browser_context):
    base = counter["url"]
    page = browser_context().new_page()
    blocked = csp_errors(page)
    outside: list[str] = []

    def only_here(route):
        if route.request.url.startswith(base):
            return route.continue_()
        outside.append(route.request.url)
        return route.abort()

    page.route("**/*", only_here)
    page.goto(base + "/api/v1/docs")
    page.locator(".swagger-ui .info .title").get_by_text("Omnishop").wait_for(timeout=WAIT_MS)
    page.locator(".opblock").first.wait_for()
    assert outside == [] and blocked == []


def test_the_counter_works_from_the_keyboard(client, counter, browser_context):
    base, store = counter["url"], counter["store"]
    placed = checkout(client, cart_for(client, store, lines=(("TEA", 1),))).get_json()
    page = browser_context().new_page()
    page.goto(base + "/stores/NYC/tablet")
    # The email field has the focus (autofocus), once the page has rendered: keys typed before that are
    # lost (a sign-in as "lerk@example.com" failed this test once on a loaded machine).
    expect(page.locator("#email")).to_be_focused()
    page.keyboard.type("clerk@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type("password-123")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Pickup queue").wait_for()

    def tab_to(name: str) -> None:
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent.trim()").startswith(name):
                return
        raise AssertionError(f"{name!r} cannot be reached with Tab")

    tab_to(placed["order"]["number"])
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Start picking").wait_for()
    tab_to("Start picking")
    page.keyboard.press("Enter")
    page.get_by_text("Not checked yet.").wait_for()
    tab_to("+")
    page.keyboard.press("Enter")
    page.get_by_text("All 1 found.").wait_for()
    tab_to("Ready for pickup")
    page.keyboard.press("Enter")
    page.locator("#pickup-code").wait_for()
