"""On a catalog big enough that PostgreSQL reads a table whole when no index fits (20,000 SKUs at three
stores, 10,000 expired holds waiting for the sweep, 10,000 released holds of one SKU), the stock
paths find their rows by index: no step of their plans reads a stock or reservation table whole,
nor more than 1,000 rows (most of a store's stock rows, the backlog, or a SKU's history)."""

from __future__ import annotations

import datetime as dt

import pytest

from inventory import catalog, reservations, stock, stock_events
from shop.accounts.actors import Actor
from shop.carts import adds, snapshot
from shop.carts import service as carts
from shop.core import plans
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.big_catalog import catalog_sku, seed_catalog, seed_holds
from tests.support.plans import explained, wide_reads

pytestmark = pytest.mark.postgres

TABLES = {"stock", "stock_ledger", "reservations", "reservation_lines"}
SKUS, BACKLOG, SPREAD = 20_000, 10_000, 2_000
HISTORY = 10_000  # released holds of the first SKU: a best seller's past
MOST = 1_000  # rows one step may read: 5% of the catalog, a tenth of the backlog


@pytest.fixture
def big_catalog(app):
    stores = [f.store() for _ in range(3)]
    db.session.commit()
    seed_catalog(SKUS, [s.id for s in stores])
    seed_holds(stores[0].id, BACKLOG, SPREAD, clock.now() - dt.timedelta(hours=1))
    seed_holds(stores[0].id, HISTORY, 1, clock.now() - dt.timedelta(days=1), status="released")
    db.session.commit()
    plans.analyze("products", "stock", "stock_ledger", "reservations", "reservation_lines")
    db.session.commit()
    return stores


def test_a_refused_hold_looks_its_rows_up_by_key(big_catalog):
    shop = big_catalog[0]
    with explained() as statements, pytest.raises(DomainError) as refused:
        reservations.reserve_skus(shop.id, {catalog_sku(1): 1_000, catalog_sku(SPREAD + 7): 1}, "plan:refused")
    assert refused.value.code == "insufficient_stock"
    assert any("FOR UPDATE OF stock" in item.sql for item in statements)  # the full path ran
    assert wide_reads(statements, TABLES, MOST) == []


def test_a_refused_hold_with_no_expired_hold_in_the_way_is_one_statement_by_key(big_catalog):
    shop = big_catalog[0]
    with explained() as statements, pytest.raises(DomainError) as refused:
        reservations.reserve_skus(shop.id, {catalog_sku(SKUS): 51, catalog_sku(SPREAD + 7): 1}, "plan:refused")
    assert refused.value.extra["short"] == [{"sku": catalog_sku(SKUS), "requested": 51, "available": 50}]
    assert len(statements) == 1  # the hold statement answered the 409 itself
    assert wide_reads(statements, TABLES, MOST) == []


def test_a_100_sku_lookup_with_expired_holds_waiting_reads_by_key(big_catalog):
    shop = big_catalog[0]
    skus = [catalog_sku(n) for n in range(1, 101)]  # 5 expired holds each at this store; the first, a history
    with explained() as statements:
        rows = stock.store_stock(shop.id, skus, clock.now())
    assert {row["available"] for row in rows} == {50}  # the expired holds count as free
    assert wide_reads(statements, TABLES, MOST) == []


def test_availability_of_one_sku_across_stores_reads_by_key(big_catalog):
    product = catalog.get_product(catalog_sku(SKUS // 2))
    with explained() as statements:
        rows = stock.availability(product, clock.now(), None, 100)
    assert [row["available"] for row in rows] == [50, 50, 50]
    assert len(statements) == 1  # the stores and their rows together
    assert wide_reads(statements, TABLES, MOST) == []


def test_a_cart_read_and_a_till_sale_of_a_best_seller_read_by_key(big_catalog):
    shop = big_catalog[0]
    guest = Actor("guest", None, "web")
    cart, _ = carts.open_cart(guest, shop.id)
    adds.add_line(cart.id, catalog_sku(1), 1, guest)  # 5 expired holds here, and the 10,000 released ones
    product = catalog.get_product(catalog_sku(1))
    with explained() as statements:
        line = snapshot.load(cart.id).lines[0]
        stock_events.record_event(shop.id, "till-plan-1", "sale", {product: 1})
    assert line.available == 50
    assert wide_reads(statements, TABLES, MOST) == []


def test_a_handover_by_the_holds_id_reads_by_key(big_catalog):
    """The hold's lines, the stock rows' lock and the claim in one statement (nothing of the hold
    loaded): each found by key, as the ledger's writes after it."""
    shop = big_catalog[0]
    hold = reservations.reserve_skus(shop.id, {catalog_sku(1): 2, catalog_sku(SKUS): 1}, "plan:handover")
    db.session.commit()
    taken = {catalog.get_product(line.sku).id: 1 for line in hold.lines}
    db.session.expunge_all()
    with explained() as statements:
        reservations.consume_hold(hold.id, taken)
    assert statements[0].sql.startswith("WITH locked")  # the one-statement claim took it
    assert len(statements) == 3  # the claim, the pickups' write, the release of the unit not taken
    assert wide_reads(statements, TABLES, MOST) == []
