"""Stock per store and SKU through the API: till events, figures, availability, ledger, holds."""

from __future__ import annotations

import datetime as dt

import pytest

from inventory.models import LedgerEntry, Stock
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.clock import frozen_clock  # noqa: F401 (fixture)
from tests.support.invariants import assert_stock_invariants
from tests.support.problems import assert_problem


@pytest.fixture
def world(app):
    a = f.store(code="AAA", latitude=40.72, longitude=-74.0)
    b = f.store(code="BBB", latitude=40.75, longitude=-73.98)
    far = f.store(code="FAR", latitude=34.05, longitude=-118.24)
    mug, tea = f.product(sku="MUG"), f.product(sku="TEA")
    f.stock(a, mug, 10, safety_stock=1)
    f.stock(b, mug, 3)
    f.stock(far, mug, 50)
    staff_a, staff_b = f.user("staff", [a]), f.user("staff", [b])
    db.session.commit()
    return {"a": a, "b": b, "far": far, "mug": mug, "tea": tea,
            "staff_a": f.bearer(staff_a), "staff_b": f.bearer(staff_b)}


def event(client, w, headers=None, **body):
    payload = {"event_id": "e1", "type": "sale", "lines": [{"sku": "MUG", "quantity": 1}], **body}
    return client.post(f"/api/v1/stores/{w['a'].id}/stock-events", json=payload,
                       headers=w["staff_a"] if headers is None else headers)


def figures(client, w, skus="MUG", headers=None, store="a"):
    return client.get(f"/api/v1/stores/{w[store].id}/stock?skus={skus}", headers=headers or {})


def test_till_sale_receipt_count_damage_return(client, world):
    assert event(client, world, event_id="s1", type="sale").status_code == 201
    assert event(client, world, event_id="r1", type="receipt",
                 lines=[{"sku": "MUG", "quantity": 5}, {"sku": "TEA", "quantity": 4}]).status_code == 201
    count = event(client, world, event_id="c1", type="count", lines=[{"sku": "MUG", "quantity": 7}])
    assert count.get_json()["lines"][0]["delta_on_hand"] == 7 - 14
    event(client, world, event_id="d1", type="damage", lines=[{"sku": "TEA", "quantity": 1}])
    event(client, world, event_id="t1", type="return", lines=[{"sku": "TEA", "quantity": 2}])
    rows = {r["sku"]: r for r in figures(client, world, "MUG,TEA", world["staff_a"]).get_json()}
    assert rows["MUG"] == {"sku": "MUG", "on_hand": 7, "reserved": 0, "safety_stock": 1, "available": 6}
    assert rows["TEA"]["on_hand"] == 5
    assert_stock_invariants()


def test_a_repeated_event_id_changes_nothing_and_returns_the_first_result(client, world):
    first = event(client, world)
    again = event(client, world)
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json() == first.get_json()
    assert db.session.get(Stock, (world["a"].id, world["mug"].id)).on_hand == 9
    other = event(client, world, lines=[{"sku": "MUG", "quantity": 2}])
    assert_problem(other, 409, "event_id_reused")


def test_staff_post_only_to_their_own_store(client, world):
    assert_problem(event(client, world, headers=world["staff_b"]), 403, "wrong_store")
    assert_problem(event(client, world, headers={}), 401, "unauthorized")
    customer = f.user()
    db.session.commit()
    assert_problem(event(client, world, headers=f.bearer(customer)), 403, "forbidden")
    assert db.session.scalar(db.select(db.func.count(LedgerEntry.id))) == 3  # the fixture's receipts


@pytest.mark.parametrize("lines, code", [
    ([{"sku": "NOPE", "quantity": 1}], "unknown_sku"),
    ([{"sku": "MUG", "quantity": 0}], "validation_error"),
    ([{"sku": "MUG", "quantity": -3}], "validation_error"),
    ([{"sku": "MUG", "quantity": 1.5}], "validation_error"),
    ([{"sku": "MUG", "quantity": "2"}], "validation_error"),
    ([{"sku": "MUG", "quantity": 10**9}], "validation_error"),
    ([{"sku": "MUG", "quantity": 1}, {"sku": "MUG", "quantity": 1}], "validation_error"),
    ([], "validation_error"),
])
def test_bad_event_lines_change_nothing(client, world, lines, code):
    status = 422
    assert_problem(event(client, world, lines=lines), status, code)
    assert db.session.get(Stock, (world["a"].id, world["mug"].id)).on_hand == 10


def test_unknown_event_type_and_store(client, world):
    assert_problem(event(client, world, type="theft"), 422, "validation_error")
    admin = f.user("admin")
    db.session.commit()
    resp = client.post("/api/v1/stores/9999/stock-events", headers=f.bearer(admin),
                       json={"event_id": "x", "type": "sale", "lines": [{"sku": "MUG", "quantity": 1}]})
    assert_problem(resp, 404, "store_not_found")


def test_anonymous_see_available_only_staff_see_everything(client, world):
    public = figures(client, world).get_json()
    assert public == [{"sku": "MUG", "available": 9}]
    assert figures(client, world, headers=world["staff_b"]).get_json() == public  # other store
    staff = figures(client, world, headers=world["staff_a"]).get_json()[0]
    assert staff["on_hand"] == 10 and staff["safety_stock"] == 1


def test_stock_lookup_limits(client, world):
    many = ",".join(f"S{i}" for i in range(101))
    body = assert_problem(figures(client, world, skus=many), 422, "validation_error")
    assert "skus" in body["errors"]
    assert_problem(figures(client, world, skus="MUG,NOPE"), 422, "unknown_sku")
    # A SKU the store never stocked reads as zero.
    assert figures(client, world, skus="TEA").get_json() == [{"sku": "TEA", "available": 0}]


def test_availability_near_a_point(client, world):
    rows = client.get("/api/v1/availability?sku=MUG&near=40.72,-74.0").get_json()
    assert [(r["store_code"], r["available"]) for r in rows] == [("AAA", 9), ("BBB", 3)]
    everywhere = client.get("/api/v1/availability?sku=MUG").get_json()
    assert {r["store_code"] for r in everywhere} == {"AAA", "BBB", "FAR"}
    assert_problem(client.get("/api/v1/availability?sku=NOPE"), 404, "product_not_found")


def test_ledger_is_paginated_newest_first_for_staff_only(client, world):
    for i in range(5):
        event(client, world, event_id=f"s{i}")
    page1 = client.get(f"/api/v1/stores/{world['a'].id}/ledger?sku=MUG&limit=4",
                       headers=world["staff_a"]).get_json()
    assert [e["reason"] for e in page1["items"]] == ["sale"] * 4
    page2 = client.get(f"/api/v1/stores/{world['a'].id}/ledger?sku=MUG&limit=4&cursor={page1['next_cursor']}",
                       headers=world["staff_a"]).get_json()
    assert [e["reason"] for e in page2["items"]] == ["sale", "receipt"] and page2["next_cursor"] is None
    assert_problem(client.get(f"/api/v1/stores/{world['a'].id}/ledger", headers=world["staff_b"]),
                   403, "wrong_store")


def test_hold_all_or_nothing_and_release(client, world):
    url = f"/api/v1/stores/{world['a'].id}/reservations"
    short = client.post(url, headers=world["staff_a"], json={"lines": [
        {"sku": "MUG", "quantity": 2}, {"sku": "TEA", "quantity": 1}]})
    body = assert_problem(short, 409, "insufficient_stock")
    assert body["short"] == [{"sku": "TEA", "requested": 1, "available": 0}]
    assert figures(client, world).get_json()[0]["available"] == 9  # nothing was held
    held = client.post(url, headers=world["staff_a"], json={"lines": [{"sku": "MUG", "quantity": 9}]})
    assert held.status_code == 201 and held.get_json()["status"] == "active"
    assert figures(client, world).get_json()[0]["available"] == 0
    rid = held.get_json()["id"]
    assert_problem(client.post(f"/api/v1/reservations/{rid}/release", headers=world["staff_b"]),
                   404, "reservation_not_found")
    released = client.post(f"/api/v1/reservations/{rid}/release", headers=world["staff_a"])
    assert released.get_json()["status"] == "released"
    assert client.post(f"/api/v1/reservations/{rid}/release", headers=world["staff_a"]).status_code == 200
    assert figures(client, world).get_json()[0]["available"] == 9
    assert_stock_invariants()


def test_a_counter_hold_answers_with_what_a_later_read_of_it_shows(client, world, frozen_clock):  # noqa: F811
    """The reply to a hold is built without reading the hold back: it must still say the same."""
    url = f"/api/v1/stores/{world['a'].id}/reservations"
    held = client.post(url, headers=world["staff_a"], json={
        "lines": [{"sku": "MUG", "quantity": 2}], "reference": "phone:42", "ttl_minutes": 90})
    assert held.status_code == 201
    body = held.get_json()
    assert (body["store_id"], body["reference"], body["status"], body["at_risk"]) == (
        world["a"].id, "phone:42", "active", False)
    assert dt.datetime.fromisoformat(body["expires_at"]) == frozen_clock.now + dt.timedelta(minutes=90)
    assert body["lines"] == [{"sku": "MUG", "quantity": 2, "at_risk": False}]
    assert client.get(f"/api/v1/reservations/{body['id']}", headers=world["staff_a"]).get_json() == body
    for unknown in (client.get(f"/api/v1/reservations/{body['id'] + 1}", headers=world["staff_a"]),
                    client.post(f"/api/v1/reservations/{body['id'] + 1}/release", headers=world["staff_a"])):
        assert_problem(unknown, 404, "reservation_not_found")


def test_till_sale_of_a_held_unit_is_accepted_and_marks_the_hold_at_risk(client, world):
    url = f"/api/v1/stores/{world['a'].id}/reservations"
    early = client.post(url, headers=world["staff_a"], json={"lines": [{"sku": "MUG", "quantity": 5}]})
    late = client.post(url, headers=world["staff_a"], json={"lines": [{"sku": "MUG", "quantity": 4}]})
    sale = event(client, world, event_id="till-9", lines=[{"sku": "MUG", "quantity": 3}])
    assert sale.status_code == 201
    assert sale.get_json()["at_risk_reservation_ids"] == [late.get_json()["id"]]
    assert client.get(f"/api/v1/reservations/{early.get_json()['id']}",
                      headers=world["staff_a"]).get_json()["at_risk"] is False
    late_now = client.get(f"/api/v1/reservations/{late.get_json()['id']}", headers=world["staff_a"]).get_json()
    assert late_now["at_risk"] is True and late_now["lines"][0]["at_risk"] is True
    staff = figures(client, world, headers=world["staff_a"]).get_json()[0]
    assert staff["on_hand"] == 7 and staff["reserved"] == 9 and staff["available"] == 0
    # A receipt that covers the hold again clears the flag.
    event(client, world, event_id="r-9", type="receipt", lines=[{"sku": "MUG", "quantity": 2}])
    again = client.get(f"/api/v1/reservations/{late.get_json()['id']}", headers=world["staff_a"]).get_json()
    assert again["at_risk"] is False
    assert_stock_invariants()


def test_safety_stock_is_set_by_staff(client, world):
    url = f"/api/v1/stores/{world['a'].id}/stock/MUG"
    resp = client.patch(url, json={"safety_stock": 4}, headers=world["staff_a"])
    assert resp.get_json()["available"] == 6
    assert_problem(client.patch(url, json={"safety_stock": -1}, headers=world["staff_a"]), 422,
                   "validation_error")
    assert_problem(client.patch(url, json={"safety_stock": 1}, headers=world["staff_b"]), 403, "wrong_store")


def test_bad_near_on_availability_is_a_422(client, world):
    for near in ("0", "abc", "91,0", "1,2,3"):
        body = assert_problem(client.get(f"/api/v1/availability?sku=NOPE&near={near}"), 422, "validation_error")
        assert "near" in body["errors"]
