"""Every list pages the same way: walked page by page, each item comes once and in order, even
when items arrive between two pages; `limit` is capped by MAX_PAGE_SIZE everywhere."""

from __future__ import annotations

import datetime as dt

import pytest

from shop.core.clock import clock
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.orders import cart_for, checkout
from tests.support.paging import flat, walk
from tests.support.spec_coverage import current_spec

BASE = dt.datetime(2026, 6, 2, 14, 0, tzinfo=dt.UTC)  # a Tuesday, 10:00 in New York: the store is open


@pytest.fixture
def world(app):
    store = f.store(code="NYC", prep_lead_minutes=30)
    mug = f.product(sku="MUG", price=1200)
    f.stock(store, mug, 50)
    staff = f.user("staff", [store])
    customer = f.user("customer", email="pat@example.com")
    marketing = f.user("marketing")
    db.session.commit()
    return {"store": store, "mug": mug, "staff": f.bearer(staff), "customer": f.bearer(customer),
            "customer_id": customer.id, "marketing": f.bearer(marketing)}


def place(client, world, headers=None) -> dict:
    resp = checkout(client, cart_for(client, world["store"], lines=(("MUG", 1),), headers=headers,
                                     email=None if headers else "guest@example.com"), headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["order"]


def test_products_walk_by_sku(client, world):
    for i in range(1, 8):
        f.product(sku=f"P-{i:02d}")
    db.session.commit()

    def arrive(page):
        if page == 1:  # one before the cursor (never shown), one after it (shown in its place)
            f.product(sku="P-00")
            f.product(sku="P-99")
            db.session.commit()

    pages = walk(client, "/api/v1/products?q=p-&limit=3", between=arrive, limit=3)
    assert flat(pages, "sku") == [f"P-{i:02d}" for i in range(1, 8)] + ["P-99"]


def test_stores_walk_by_code_and_by_distance(client, world):
    for i in range(1, 7):
        f.store(code=f"S-{i:02d}", latitude=40.0 + (i // 2) * 0.01, longitude=-74.0)  # pairs at one spot
    db.session.commit()

    def arrive(page):
        if page == 1:
            f.store(code="A-00", latitude=40.0, longitude=-74.0)  # before either cursor
            f.store(code="Z-99", latitude=40.2, longitude=-74.0)  # after both
            db.session.commit()

    by_code = walk(client, "/api/v1/stores?limit=2", between=arrive, limit=2)
    assert flat(by_code, "code") == ["NYC"] + [f"S-{i:02d}" for i in range(1, 7)] + ["Z-99"]

    by_distance = walk(client, "/api/v1/stores?near=40.0,-74.0&limit=3", limit=3)
    keys = [(s["distance_km"], s["code"]) for page in by_distance for s in page]
    assert keys == sorted(keys) and len(set(keys)) == len(keys) == 9


def test_customers_walk_by_id(client, world):
    ids = [f.user("customer", email=f"shopper{i}@example.com").id for i in range(5)]
    db.session.commit()

    def arrive(page):
        if page == 1:
            ids.append(f.user("customer", email="shopper-late@example.com").id)
            db.session.commit()

    pages = walk(client, "/api/v1/customers?q=shopper&limit=2", headers=world["staff"], between=arrive, limit=2)
    assert flat(pages) == ids


def test_my_orders_walk_newest_first(client, world):
    mine = [place(client, world, world["customer"])["id"] for _ in range(5)]

    def arrive(page):
        if page == 1:  # newest: it belongs before the cursor, and must not push an old one twice
            place(client, world, world["customer"])

    pages = walk(client, "/api/v1/me/orders?limit=2", headers=world["customer"], between=arrive, limit=2)
    assert flat(pages) == mine[::-1]


def test_pickup_queue_walks_by_promise_then_id(client, world, monkeypatch):
    def at(minutes: int):
        monkeypatch.setattr(clock, "now", lambda: BASE + dt.timedelta(minutes=minutes))

    placed = []
    for minutes in (50, 40, 40, 30, 20, 10):  # later ids promise earlier; two promise the same time
        at(minutes)
        placed.append(place(client, world))

    def arrive(page):
        if page == 1:
            at(0)
            place(client, world)  # earlier than the cursor: not in this walk
            at(100)
            placed.append(place(client, world))

    at(120)
    url = f"/api/v1/stores/{world['store'].id}/orders?status=placed&limit=2"
    pages = walk(client, url, headers=world["staff"], between=arrive, limit=2)
    expected = sorted(placed, key=lambda o: (o["promised_at"], o["id"]))
    assert flat(pages) == [o["id"] for o in expected]
    assert len({o["promised_at"] for o in placed}) < len(placed)  # a tie was crossed by id


def test_ledger_walks_newest_first(client, world):
    store = world["store"]
    for i in range(5):
        body = {"event_id": f"rcv-{i}", "type": "receipt", "lines": [{"sku": "MUG", "quantity": 1}]}
        client.post(f"/api/v1/stores/{store.id}/stock-events", json=body, headers=world["staff"])
    all_ids = flat(walk(client, f"/api/v1/stores/{store.id}/ledger?sku=MUG&limit=100", headers=world["staff"]))

    def arrive(page):
        body = {"event_id": f"late-{page}", "type": "receipt", "lines": [{"sku": "MUG", "quantity": 1}]}
        client.post(f"/api/v1/stores/{store.id}/stock-events", json=body, headers=world["staff"])

    pages = walk(client, f"/api/v1/stores/{store.id}/ledger?sku=MUG&limit=2", headers=world["staff"],
                 between=arrive, limit=2)
    assert len(all_ids) == 6 and flat(pages) == all_ids == sorted(all_ids, reverse=True)


def test_timeline_walks_newest_first(client, world):
    for _ in range(3):
        place(client, world, world["customer"])
    mine = "/api/v1/me/timeline?limit=100"
    all_ids = flat(walk(client, mine, headers=world["customer"]))

    def arrive(page):
        place(client, world, world["customer"])

    pages = walk(client, "/api/v1/me/timeline?limit=4", headers=world["customer"], between=arrive, limit=4)
    assert len(all_ids) > 8 and flat(pages) == all_ids == sorted(all_ids, reverse=True)
    staff_view = walk(client, f"/api/v1/customers/{world['customer_id']}/timeline?limit=5", headers=world["staff"])
    assert flat(staff_view)[-len(all_ids):] == all_ids


LISTS = [
    ("/api/v1/stores", None),
    ("/api/v1/products", None),
    ("/api/v1/customers?q=pat", "staff"),
    ("/api/v1/customers/{customer_id}/timeline", "staff"),
    ("/api/v1/me/timeline", "customer"),
    ("/api/v1/me/orders", "customer"),
    ("/api/v1/stores/{store_id}/orders", "staff"),
    ("/api/v1/stores/{store_id}/ledger", "staff"),
    ("/api/v1/messages", "staff"),
    ("/api/v1/payments/attention", "staff"),
    ("/api/v1/coupons", "marketing"),
    ("/api/v1/campaigns", "marketing"),
]


@pytest.mark.parametrize("url, who", LISTS)
def test_every_list_honours_max_page_size(app, client, world, monkeypatch, url, who):
    url = url.format(customer_id=world["customer_id"], store_id=world["store"].id)
    headers = world[who] if who else None
    sep = "&" if "?" in url else "?"
    monkeypatch.setitem(app.config, "MAX_PAGE_SIZE", 3)
    assert client.get(f"{url}{sep}limit=3", headers=headers).status_code == 200
    too_big = client.get(f"{url}{sep}limit=4", headers=headers)
    assert too_big.status_code == 422 and "limit" in too_big.get_json()["errors"]
    assert client.get(f"{url}{sep}cursor=bm90LW91cnM", headers=headers).get_json()["code"] == "invalid_cursor"


def test_every_list_documents_its_paging_in_the_spec(app):
    spec = current_spec()
    paged = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            names = {p["name"]: p for p in operation.get("parameters", ()) if p.get("in") == "query"}
            if "cursor" in names:
                paged[path] = (names["limit"], operation["responses"]["200"])
    assert set(paged) == {url.split("?")[0] for url, _ in LISTS}
    for path, (limit, ok) in paged.items():
        assert limit["schema"]["maximum"] == app.config["MAX_PAGE_SIZE"], path
        assert {"Link", "X-Next-Cursor"} <= set(ok["headers"]), path
