"""Demo data for `make run` and `flask shop demo`: stores in three time zones, a catalog, stock, users.

Idempotent: anything that already exists (by store code, SKU or email) is left as it is.
"""

from __future__ import annotations

import datetime as dt
import random

from inventory import ledger, stock
from inventory.models import Product, Stock
from shop.accounts import service as accounts
from shop.accounts.models import User
from shop.core.extensions import db
from shop.demo import orders as demo_orders
from stores.models import OpeningHours, Store

STORES = [
    # code, name, address, lat, lon, tz, (opens, closes) Mon-Sat, Sunday or None
    ("NYC01", "Omnishop SoHo", "120 Spring St, New York, NY", 40.7245, -73.9986,
     "America/New_York", ("09:00", "21:00"), ("11:00", "18:00")),
    ("CHI01", "Omnishop Loop", "20 N State St, Chicago, IL", 41.8827, -87.6278,
     "America/Chicago", ("09:00", "20:00"), None),
    ("SFO01", "Omnishop Mission", "2100 Mission St, San Francisco, CA", 37.7627, -122.4193,
     "America/Los_Angeles", ("10:00", "01:00"), ("10:00", "22:00")),
]

ADJECTIVES = ["Classic", "Organic", "Everyday", "Premium", "Compact"]
NOUNS = ["Coffee Beans 1kg", "Water Bottle", "Rain Jacket", "Desk Lamp", "Notebook A5",
         "Running Socks", "Ceramic Mug", "Backpack 20L", "Phone Charger", "Tea Sampler"]

DEMO_PASSWORD = "omnishop-demo"  # noqa: S105 - printed on purpose: demo accounts only


def _time(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def _stores() -> list[Store]:
    result = []
    for code, name, address, lat, lon, tz, week, sunday in STORES:
        store = db.session.scalar(db.select(Store).where(Store.code == code))
        if store is None:
            store = Store(code=code, name=name, address=address, latitude=lat, longitude=lon,
                          timezone=tz)
            for weekday in range(6):
                store.hours.append(OpeningHours(weekday=weekday, opens=_time(week[0]),
                                                closes=_time(week[1])))
            if sunday:
                store.hours.append(OpeningHours(weekday=6, opens=_time(sunday[0]),
                                                closes=_time(sunday[1])))
            db.session.add(store)
        result.append(store)
    db.session.flush()
    return result


def _products() -> list[Product]:
    result = []
    for i in range(50):
        sku = f"SKU-{i + 1:04d}"
        product = db.session.scalar(db.select(Product).where(Product.sku == sku))
        if product is None:
            name = f"{ADJECTIVES[i // 10]} {NOUNS[i % 10]}"
            product = Product(sku=sku, name=name, price=499 + 250 * (i % 17), currency="USD",
                              gtin=f"0{400638133393 + i:012d}"[:13])
            db.session.add(product)
        result.append(product)
    db.session.flush()
    return result


def _stock(stores: list[Store], products: list[Product]) -> None:
    rng = random.Random(42)  # the same demo every time
    for store in stores:
        for product in products:
            quantity = rng.choice([0, 1, 2, 3, 5, 8, 12, 20, 40])
            if db.session.get(Stock, (store.id, product.id)) is not None:
                continue
            row = stock.lock_rows(store.id, [product.id])[product.id]
            row.safety_stock = 1 if quantity >= 5 else 0
            if quantity:
                ledger.apply(row, reason="receipt", delta_on_hand=quantity, source="demo:initial")


def _user(email: str, role: str, store_ids: list[int]) -> tuple[str, str, str]:
    if db.session.scalar(db.select(User.id).where(User.email == email)) is None:
        if role == "customer":
            user = accounts.sign_up(email, DEMO_PASSWORD, "Demo Shopper", "+14155550123")
            user.email_verified_at = dt.datetime.now(dt.UTC)
        else:
            accounts.create_user(email, DEMO_PASSWORD, role, store_ids)
    return email, DEMO_PASSWORD, role if not store_ids else f"{role} of store {store_ids}"


def load() -> list[tuple[str, str, str]]:
    """Create whatever of the demo is missing; returns the sign-in details to print."""
    stores = _stores()
    products = _products()
    _stock(stores, products)
    logins = [_user(f"staff-{s.code.lower()}@demo.omnishop.dev", "staff", [s.id]) for s in stores]
    logins.append(_user("marketing@demo.omnishop.dev", "marketing", []))
    logins.append(_user("admin@demo.omnishop.dev", "admin", []))
    logins.append(_user("shopper@demo.omnishop.dev", "customer", []))
    db.session.flush()
    shopper = db.session.scalar(db.select(User).where(User.email == "shopper@demo.omnishop.dev"))
    demo_orders.load(stores, shopper)
    return logins
