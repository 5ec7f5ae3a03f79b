"""The counter screen drives orders through the same services as the staff API: the queue in its
groups with at-risk orders said in plain words, the pick list, a short pick corrected before ready,
wrong codes with attempts left, a manager's unlock (recorded), a failed capture and its retry, and a
clerk who sees and acts on their own store only."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from inventory import stock_events
from inventory.models import Stock
from shop.core.clock import clock
from shop.core.extensions import db
from shop.orders.models import Order, OrderEvent
from tests.support.invariants import assert_stock_invariants
from tests.support.orders import authorize, card_order, cart_for, checkout, stripe_unreachable
from tests.support.tablet import page_token, sign_in, step

NY = ZoneInfo("America/New_York")


def place(client, world, lines=(("MUG", 2), ("TEA", 1)), **kw):
    resp = checkout(client, cart_for(client, world["store"], lines=lines), **kw)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def groups(html: str) -> dict[str, list[str]]:
    """Order numbers by queue group, as the screen shows them."""
    found = {}
    for key, body in re.findall(r'<section class="group (\w+)".*?>(.*?)</section>', html, re.S):
        found[key] = re.findall(r'<span class="number">([^<]+)</span>', body)
    return found


@pytest.fixture
def clerk(client, tablet_world):
    sign_in(client, "clerk@example.com")
    return tablet_world


def at(monkeypatch, local: dt.datetime) -> None:
    moment = local.replace(tzinfo=NY).astimezone(dt.UTC)
    monkeypatch.setattr(clock, "now", lambda: moment)


def test_the_queue_groups_orders_by_what_is_late(app, client, clerk, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_SECONDS", 24 * 3600)  # one clerk all day
    day = dt.datetime(2026, 6, 10)  # 20:50 in New York is already the next day in UTC
    at(monkeypatch, day.replace(hour=10))
    late = place(client, clerk)  # promised 10:30
    ready = place(client, clerk, lines=(("TEA", 1),))
    token = page_token(client, "NYC")
    for action in ("picking", "ready"):
        step(client, "NYC", ready["order"]["id"], action, token=token)
    at(monkeypatch, day.replace(hour=20, minute=25))
    today = place(client, clerk, lines=(("MUG", 1),))  # promised 20:55
    at(monkeypatch, day.replace(hour=20, minute=45))
    tomorrow = place(client, clerk, lines=(("MUG", 1),))  # past closing: tomorrow 09:30
    picking = place(client, clerk, lines=(("MUG", 1),))
    assert step(client, "NYC", picking["order"]["id"], "picking", token=token).status_code == 200
    at(monkeypatch, day.replace(hour=20, minute=50))

    page = client.get("/stores/NYC/tablet").get_data(as_text=True)
    shown = groups(page)
    number = {name: body["order"]["number"] for name, body in
              [("late", late), ("ready", ready), ("today", today), ("tomorrow", tomorrow), ("picking", picking)]}
    assert shown == {"overdue": [number["late"]], "due_today": [number["today"]], "new": [number["tomorrow"]],
                     "picking": [number["picking"]], "ready": [number["ready"]]}
    assert re.search(r"Overdue <b>1</b>.*Due today <b>1</b>.*New <b>1</b>.*Picking <b>1</b>.*Ready for pickup <b>1</b>",
                     page, re.S)


def test_oldest_promise_first_and_a_till_sale_flags_the_order_in_plain_words(client, clerk):
    first, second = place(client, clerk), place(client, clerk, lines=(("TEA", 1),))
    stock_events.record_event(clerk["store"].id, "till-1", "sale", {clerk["p"]["MUG"]: 9})
    db.session.commit()
    html = client.get("/stores/NYC/tablet").get_data(as_text=True)
    numbers = re.findall(r'<span class="number">([^<]+)</span>', html)
    assert numbers == [first["order"]["number"], second["order"]["number"]]
    assert "A till sale took stock this order needs (MUG): check the shelf." in html
    assert html.count("A till sale took stock") == 1
    order_page = client.get(f"/stores/NYC/tablet/orders/{first['order']['id']}").get_data(as_text=True)
    assert "A till sale took stock this order needs (MUG)" in order_page


def test_the_pick_list_groups_every_line_to_pick_by_sku(client, clerk):
    token = page_token(client, "NYC")
    one, two, waiting = place(client, clerk), place(client, clerk, lines=(("MUG", 3),)), place(client, clerk)
    for order in (one, two):
        step(client, "NYC", order["order"]["id"], "picking", token=token)
    mug_line = one["order"]["lines"][0]["id"]
    tea_line = one["order"]["lines"][1]["id"]
    step(client, "NYC", one["order"]["id"], f"lines/{tea_line}/pick", {"picked_quantity": 1}, token=token)
    html = client.get("/stores/NYC/tablet/pick-list").get_data(as_text=True)
    rows = re.findall(r'<td class="sku">(\w+)</td>.*?<td class="qty">(\d+)</td>(.*?)</tr>', html, re.S)
    assert [(sku, qty) for sku, qty, _ in rows] == [("MUG", "5")]  # TEA is picked; the third order is not started
    assert one["order"]["number"] in rows[0][2] and two["order"]["number"] in rows[0][2]
    assert waiting["order"]["number"] not in html
    assert mug_line


def stock(world, sku) -> Stock:
    db.session.expire_all()
    return db.session.get(Stock, (world["store"].id, world["p"][sku].id))


def test_a_short_pick_is_corrected_before_ready(client, clerk):
    body = place(client, clerk)
    oid, mug = body["order"]["id"], body["order"]["lines"][0]["id"]
    token = page_token(client, "NYC")
    step(client, "NYC", oid, "picking", token=token)
    short = step(client, "NYC", oid, f"lines/{mug}/pick", {"picked_quantity": 1}, token=token)
    assert short.status_code == 200 and "Short: 1 of 2 found." in short.get_json()["html"]
    assert stock(clerk, "MUG").reserved == 1 and db.session.get(Order, oid).total == 1700
    fixed = step(client, "NYC", oid, f"lines/{mug}/pick", {"picked_quantity": 2}, token=token)
    assert fixed.status_code == 200 and "All 2 found." in fixed.get_json()["html"]
    assert stock(clerk, "MUG").reserved == 2 and db.session.get(Order, oid).total == 2900
    assert step(client, "NYC", oid, "ready", token=token).get_json()["status"] == "ready_for_pickup"
    assert_stock_invariants()


def test_a_correction_takes_back_only_what_is_still_free(client, clerk):
    body = place(client, clerk)
    oid, mug = body["order"]["id"], body["order"]["lines"][0]["id"]
    token = page_token(client, "NYC")
    step(client, "NYC", oid, "picking", token=token)
    step(client, "NYC", oid, f"lines/{mug}/pick", {"picked_quantity": 0}, token=token)
    stock_events.record_event(clerk["store"].id, "till-2", "sale", {clerk["p"]["MUG"]: 9})  # 1 left on the shelf
    db.session.commit()
    refused = step(client, "NYC", oid, f"lines/{mug}/pick", {"picked_quantity": 2}, token=token)
    assert refused.status_code == 409
    assert refused.get_json()["code"] == "units_released" and refused.get_json()["available"] == 1
    assert stock(clerk, "MUG").reserved == 0
    assert step(client, "NYC", oid, f"lines/{mug}/pick", {"picked_quantity": 1}, token=token).status_code == 200
    assert stock(clerk, "MUG").reserved == 1
    assert_stock_invariants()


def ready_order(client, world, **kw):
    body = place(client, world, **kw)
    token = page_token(client, "NYC")
    for action in ("picking", "ready"):
        assert step(client, "NYC", body["order"]["id"], action, token=token).status_code == 200
    return body, token


def test_wrong_codes_show_attempts_left_then_a_manager_unlocks(client, clerk):
    body, token = ready_order(client, clerk)
    oid, code = body["order"]["id"], body["pickup_code"]
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1, 0):
        resp = step(client, "NYC", oid, "handover", {"pickup_code": wrong}, token=token)
        assert resp.status_code == 422 and resp.get_json()["attempts_left"] == left
    locked = step(client, "NYC", oid, "handover", {"pickup_code": code}, token=token)
    assert locked.status_code == 423 and locked.get_json()["code"] == "pickup_locked"
    page = client.get(f"/stores/NYC/tablet/orders/{oid}").get_data(as_text=True)
    assert "Locked until" in page and "Manager unlock" in page

    as_clerk = step(client, "NYC", oid, "unlock", {"email": "clerk@example.com", "password": "password-123",
                                                   "id_checked": True}, token=token)
    assert as_clerk.status_code == 403 and as_clerk.get_json()["code"] == "manager_required"
    unchecked = step(client, "NYC", oid, "unlock", {"email": "manager@example.com", "password": "password-123",
                                                    "id_checked": False}, token=token)
    assert unchecked.status_code == 422 and "id_checked" in unchecked.get_json()["errors"]
    wrong_password = step(client, "NYC", oid, "unlock", {"email": "manager@example.com", "password": "nope-nope",
                                                         "id_checked": True}, token=token)
    assert wrong_password.status_code == 401 and wrong_password.get_json()["code"] == "invalid_credentials"
    assert client.get("/stores/NYC/tablet").status_code == 200  # the clerk is still signed in
    unlocked = step(client, "NYC", oid, "unlock", {"email": "manager@example.com", "password": "password-123",
                                                   "id_checked": True}, token=token)
    assert unlocked.status_code == 200
    event = db.session.scalars(db.select(OrderEvent).where(OrderEvent.type == "pickup_unlocked")).one()
    manager_id = db.session.execute(db.text("SELECT id FROM users WHERE email = 'manager@example.com'")).scalar()
    clerk_id = db.session.execute(db.text("SELECT id FROM users WHERE email = 'clerk@example.com'")).scalar()
    assert (event.actor_id, event.detail["clerk_id"], event.detail["id_checked"]) == (manager_id, clerk_id, True)
    again = step(client, "NYC", oid, "unlock", {"email": "manager@example.com", "password": "password-123",
                                                "id_checked": True}, token=token)
    assert again.status_code == 409 and again.get_json()["code"] == "not_locked"
    done = step(client, "NYC", oid, "handover", {"pickup_code": code}, token=token)
    assert done.status_code == 200 and done.get_json()["status"] == "picked_up"


def test_a_failed_capture_shows_the_reason_and_a_retry(app, client, clerk, stripe_app):
    body = card_order(client, clerk)
    oid = body["order"]["id"]
    authorize(client, stripe_app, oid)
    token = page_token(client, "NYC")
    for action in ("picking", "ready"):
        step(client, "NYC", oid, action, token=token)
    with stripe_unreachable(app):
        failed = step(client, "NYC", oid, "handover", {"pickup_code": body["pickup_code"]}, token=token)
    assert failed.status_code == 502 and failed.get_json()["code"] == "capture_failed"
    assert failed.get_json()["error"].startswith("Capture failed")
    page = client.get(f"/stores/NYC/tablet/orders/{oid}").get_data(as_text=True)
    assert "The last attempt failed: Capture failed" in page and "Retry handover" in page
    retried = step(client, "NYC", oid, "handover", {"pickup_code": body["pickup_code"]}, token=token)
    assert retried.status_code == 200 and retried.get_json()["status"] == "picked_up"
    assert db.session.get(Order, oid).captured_amount == 2900


def test_a_clerk_sees_and_acts_on_their_own_store_only(app, client, clerk):
    body = place(client, clerk)
    oid = body["order"]["id"]
    chicago = app.test_client()
    sign_in(chicago, "chicago@example.com")
    token = page_token(chicago, "CHI")
    assert chicago.get("/stores/NYC/tablet").status_code == 403
    assert chicago.get("/stores/NYC/tablet/queue", headers={"X-Requested-With": "fetch"}).status_code == 403
    assert chicago.get(f"/stores/NYC/tablet/orders/{oid}").status_code == 403
    for path in ("/stores/CHI/tablet", "/stores/CHI/tablet/pick-list"):
        assert body["order"]["number"] not in chicago.get(path).get_data(as_text=True)
    assert chicago.get(f"/stores/CHI/tablet/orders/{oid}").status_code == 404  # another store's order
    assert chicago.get(f"/stores/CHI/tablet/find?number={body['order']['number']}").status_code == 200
    for action in ("picking", "ready", "handover"):
        resp = step(chicago, "CHI", oid, action, {"pickup_code": body["pickup_code"]}, token=token)
        assert resp.status_code == 404 and resp.get_json()["code"] == "order_not_found"
    both = app.test_client()
    sign_in(both, "both@example.com")
    assert step(both, "CHI", oid, "picking", token=page_token(both, "CHI")).status_code == 404
    assert db.session.get(Order, oid).status == "placed"


def test_staff_never_see_the_pickup_code_on_the_screen(client, clerk):
    body, token = ready_order(client, clerk)
    oid, code = body["order"]["id"], body["pickup_code"]
    paths = ["/stores/NYC/tablet", "/stores/NYC/tablet/queue", f"/stores/NYC/tablet/orders/{oid}",
             f"/stores/NYC/tablet/find?number={body['order']['number']}", "/stores/NYC/tablet/pick-list"]
    texts = [client.get(path, follow_redirects=True).get_data(as_text=True) for path in paths]
    texts.append(step(client, "NYC", oid, "handover", {"pickup_code": code}, token=token).get_data(as_text=True))
    for text in texts:
        assert code not in text and "omnishop:pickup:" not in text


def test_find_by_number_forgives_case_and_the_store_prefix(client, clerk):
    body = place(client, clerk)
    number = body["order"]["number"]
    for typed in (number, number.lower(), number.split("-")[1], " " + number.split("-")[1].lower() + " "):
        resp = client.get("/stores/NYC/tablet/find", query_string={"number": typed})
        assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/orders/{body['order']['id']}")
    assert "No order ZZZ at this store" in client.get("/stores/NYC/tablet/find?number=ZZZ").get_data(as_text=True)


@pytest.mark.parametrize("action,payload,status,code", [
    ("lines/{line}/pick", {"picked_quantity": "2"}, 422, "validation_error"),
    ("lines/{line}/pick", {"picked_quantity": 100}, 422, "validation_error"),
    ("lines/{line}/pick", {"picked_quantity": 3}, 422, "picked_too_many"),
    ("lines/999999/pick", {"picked_quantity": 1}, 404, "line_not_found"),
    ("lines/{line}/pick", ["not", "an", "object"], 400, "malformed_request"),
    ("handover", {"pickup_code": "12"}, 422, "validation_error"),
    ("handover", {"pickup_code": "123456"}, 409, "illegal_transition"),
    ("ready", None, 409, "illegal_transition"),
    ("unlock", {"email": "manager@example.com"}, 422, "validation_error"),
    ("unlock", ["manager@example.com"], 400, "malformed_request"),
    ("unlock", {"email": 7, "password": "x", "id_checked": True}, 422, "validation_error"),
])
def test_bad_input_is_a_clear_4xx_and_changes_nothing(client, clerk, action, payload, status, code):
    body = place(client, clerk)
    oid, line = body["order"]["id"], body["order"]["lines"][0]["id"]
    token = page_token(client, "NYC")
    if action.startswith("lines"):
        step(client, "NYC", oid, "picking", token=token)
    before = db.session.get(Order, oid).status
    resp = client.post(f"/stores/NYC/tablet/orders/{oid}/{action.format(line=line)}", json=payload,
                       headers={"X-CSRF-Token": token, "X-Requested-With": "fetch"})
    assert (resp.status_code, resp.get_json()["code"]) == (status, code)
    db.session.expire_all()
    assert db.session.get(Order, oid).status == before
    assert db.session.get(Order, oid).lines[0].picked_quantity is None


def test_unknown_stores_and_orders_are_404_pages(client, clerk):
    assert client.get("/stores/NOPE/tablet").status_code == 404
    assert client.get(f"/stores/NYC/tablet/orders/{2**31}").status_code == 404
    assert client.get("/stores/NYC/tablet/orders/424242").status_code == 404
    assert client.get("/stores/" + "X" * 40 + "/tablet").status_code == 404
