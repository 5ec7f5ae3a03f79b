"""Bench plumbing: a throw-away PostgreSQL database with seed data, and gunicorn on a free port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import flask_migrate
import psycopg
import requests
from sqlalchemy import make_url, text

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# The rest of a real catalog, stocked at the bench store and two others: the planner picks plans
# for tables of this size (a 100-row table is read whole, and hides what an index lookup costs).
CATALOG = int(os.environ.get("BENCH_CATALOG", "20000"))


@dataclass
class Seed:
    store_id: int
    baseline_product_id: int
    skus: list[str]
    token: str


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _seed(url: str) -> Seed:
    from inventory import ledger, stock
    from shop.accounts import auth
    from shop.app import create_app
    from shop.core.extensions import db
    from tests.support import factories as f

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        flask_migrate.upgrade()
        store = f.store(code="BENCH")
        stores = [store, f.store(code="BENCH-2"), f.store(code="BENCH-3")]
        products = [f.product(sku=f"B-{i:03d}") for i in range(100)]
        baseline = f.product(sku="BASELINE")
        for p in [*products, baseline]:
            row = stock.lock_rows(store.id, [p.id])[p.id]
            ledger.apply(row, reason="receipt", delta_on_hand=10**9, source="bench")
        staff = f.user("staff", [store])
        plain, _ = auth.issue_token(staff)
        db.session.commit()
        _catalog([s.id for s in stores])
        seed = Seed(store.id, baseline.id, [p.sku for p in products], plain)
        db.engine.dispose()
    return seed


def _catalog(store_ids: list[int]) -> None:
    """CATALOG more products, each received at every bench store (ledger and figures agree)."""
    from shop.core.extensions import db

    db.session.execute(text(
        "INSERT INTO products (sku, name, price, currency, active, created_at, updated_at) "
        "SELECT 'C-' || lpad(g::text, 6, '0'), 'Catalog item ' || g, 100 + g % 5000, 'USD', true, now(), now() "
        "FROM generate_series(1, :n) AS g"), {"n": CATALOG})
    for table, columns, values in (
        ("stock", "store_id, product_id, on_hand, reserved, safety_stock", ":s, p.id, 50, 0, 0"),
        ("stock_ledger", "store_id, product_id, delta_on_hand, delta_reserved, reason, source, created_at",
         ":s, p.id, 50, 0, 'receipt', 'bench', now()"),
    ):
        for store_id in store_ids:
            db.session.execute(text(f"INSERT INTO {table} ({columns}) SELECT {values} FROM products AS p "
                                    "WHERE p.sku LIKE 'C-%'"), {"s": store_id})
    db.session.commit()


@contextlib.contextmanager
def bench_database():
    name = f"omnishop_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_conninfo(ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url, _seed(url)
    finally:
        with psycopg.connect(_conninfo(ADMIN_URL), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(target: str, env: dict, workers: int):
    port = _free_port()
    cmd = [sys.executable, "-m", "gunicorn", "--no-control-socket", "--workers", str(workers),
           "--bind", f"127.0.0.1:{port}", "--log-level", "warning", target]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(url + "/", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def settle(url: str) -> None:
    """VACUUM ANALYZE after seeding, so autovacuum does not wake up in the middle of a measurement."""
    with psycopg.connect(_conninfo(url), autocommit=True) as conn:
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
