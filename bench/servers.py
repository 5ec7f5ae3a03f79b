"""Bench plumbing: a throw-away PostgreSQL database with seed data, and gunicorn on a free port."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import flask_migrate
import psycopg
from sqlalchemy import make_url

from tests.support.gunicorn import gunicorn as serve

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# The rest of a real catalog, stocked at the bench store and four others (1,000,000 stock rows at
# 200,000 SKUs): the planner picks plans for tables of this size, and a step that reads a store's
# rows whole shows (a 100-row table is read whole, and hides what an index lookup costs).
CATALOG = int(os.environ.get("BENCH_CATALOG", "200000"))
CATALOG_STORES = 5
STORES = 100  # one SKU (the first bench SKU) is stocked at all of them, for the availability scenario
# Expired holds at the bench store that no sweep has released: one unit each over the first
# BACKLOG_SPREAD catalog SKUs in turn (5 per SKU at the defaults).
BACKLOG = int(os.environ.get("BENCH_BACKLOG", "100000"))
BACKLOG_SPREAD = 20000
RACE_ROUNDS = int(os.environ.get("BENCH_RACE_ROUNDS", "3"))
RACE_UNITS = 10
# Seeding writes a million rows in single statements: no statement or answer timeout for it (the
# servers under test keep the shipped ones).
# The checkout limit counts per caller, and the bench's client threads are one caller (127.0.0.1)
# playing thousands of shoppers: at the shipped 20 checkouts a minute it measured the limiter's 429s.
# It stays on, still counted on every request, with room for the bench's rate. (The pickup code's
# limit counts wrong codes only.)
UNTHROTTLED = {"CHECKOUT_RATE_LIMIT": "1000000/minute"}
# Seeding a million rows outlives every shipped timeout (and keeps a statement quiet for long on a
# busy machine: no silence probe either); the refunds' grace must still exceed the worker timeout
# (shop.config.check_timeouts), or the app refuses to start.
SEEDING = {"LOG_LEVEL": "WARNING", "DB_STATEMENT_TIMEOUT_MS": 0, "DB_ANSWER_TIMEOUT_SECONDS": 3600,
           "DB_SUSPECT_AFTER_SECONDS": 0,
           "WORKER_TIMEOUT_SECONDS": 100_000, "REFUND_IN_FLIGHT_GRACE_SECONDS": 100_001}


@dataclass
class Seed:
    store_id: int
    baseline_product_id: int
    skus: list[str]
    token: str
    backlog_skus: list[str]  # 100 catalog SKUs with expired holds at the bench store
    refused_sku: str  # a catalog SKU with 50 on hand at the bench store
    race_skus: list[str]  # RACE_UNITS on hand each, one per round of the race


def conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _seed(url: str) -> Seed:
    from inventory import ledger, stock
    from shop.accounts import auth
    from shop.app import create_app
    from shop.core.clock import clock
    from shop.core.extensions import db
    from tests.support import factories as f
    from tests.support.big_catalog import catalog_sku, seed_catalog, seed_holds

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, **SEEDING})
    with app.app_context():
        flask_migrate.upgrade()
        stores = [f.store(code="BENCH")] + [f.store(code=f"BENCH-{n}") for n in range(2, STORES + 1)]
        store = stores[0]
        products = [f.product(sku=f"B-{i:03d}") for i in range(100)]
        baseline = f.product(sku="BASELINE")
        racers = [f.product(sku=f"RACE-{n}") for n in range(1, RACE_ROUNDS + 1)]
        received = [(store, p, 10**9) for p in [*products, baseline]] + [(store, p, RACE_UNITS) for p in racers]
        received += [(other, products[0], 10) for other in stores[1:]]
        for at, p, units in received:
            row = stock.lock_rows(at.id, [p.id])[p.id]
            ledger.apply(row, reason="receipt", delta_on_hand=units, source="bench")
        staff = f.user("staff", [store])
        plain, _ = auth.issue_token(staff)
        db.session.commit()
        seed_catalog(CATALOG, [s.id for s in stores[:CATALOG_STORES]])
        seed_holds(store.id, BACKLOG, BACKLOG_SPREAD, clock.now() - dt.timedelta(hours=1))
        db.session.commit()
        seed = Seed(store.id, baseline.id, [p.sku for p in products], plain,
                    [catalog_sku(n) for n in range(1, 101)], catalog_sku(CATALOG), [p.sku for p in racers])
        db.engine.dispose()
    return seed


@contextlib.contextmanager
def bench_database():
    name = f"omnishop_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(conninfo(ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url, _seed(url)
    finally:
        with psycopg.connect(conninfo(ADMIN_URL), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def gunicorn(target: str, env: dict, workers: int, root: Path = ROOT):
    """(its URL, its master process: bench.cpu counts the master's workers)."""
    with serve(target, env, workers, root=root) as (url, master):
        yield url, master


def settle(url: str) -> None:
    """VACUUM ANALYZE after seeding, so autovacuum does not wake up in the middle of a measurement."""
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def prepared_carts(url: str, store_id: int, n: int) -> list[str]:
    """Guest carts with one line and an email at the bench store, made in-process (not timed)."""
    from shop.accounts.actors import Actor
    from shop.app import create_app
    from shop.carts import adds as cart_adds
    from shop.carts import service as carts
    from shop.core.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING"})
    ids = []
    with app.app_context():
        actor = Actor("guest", None, "web")
        for i in range(n):
            cart, _ = carts.open_cart(actor, store_id)
            cart_adds.add_line(cart.id, "B-001", 1, actor)
            cart.email = f"bench{i}@example.com"
            ids.append(cart.id)
        db.session.commit()
        db.engine.dispose()
    return ids


def make_ready(url: str, orders: list[tuple[int, str]]) -> None:
    """Move the bench's orders to ready_for_pickup through the staff services (not timed)."""
    from shop.accounts.actors import Actor
    from shop.app import create_app
    from shop.core.extensions import db
    from shop.orders import pickup
    from shop.orders import queries as order_service

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        for order_id, _ in orders:
            order = order_service.get_order(order_id, lock=True)
            staff = Actor("staff", None, "store", order.store_id)
            pickup.start_picking(order, staff)
            pickup.mark_ready(order, staff)
        db.session.commit()
        db.engine.dispose()
