"""Test data builders that go through the real services, so tests start from states the app can reach."""

from __future__ import annotations

import datetime as dt
import itertools

from inventory import ledger
from inventory import stock as inventory_stock
from inventory.models import Product
from shop.accounts import auth
from shop.accounts import service as accounts
from shop.core.extensions import db
from stores.models import OpeningHours, Store

_seq = itertools.count(1)


def store(code: str | None = None, tz: str = "America/New_York", **kw) -> Store:
    n = next(_seq)
    s = Store(
        code=code or f"S{n:03d}",
        name=kw.pop("name", f"Store {n}"),
        latitude=kw.pop("latitude", 40.0),
        longitude=kw.pop("longitude", -74.0),
        timezone=tz,
        **kw,
    )
    for weekday in range(7):
        s.hours.append(OpeningHours(weekday=weekday, opens=dt.time(9), closes=dt.time(21)))
    db.session.add(s)
    db.session.flush()
    return s


def product(sku: str | None = None, price: int = 1000, **kw) -> Product:
    p = Product(sku=sku or f"T-{next(_seq):05d}", name=kw.pop("name", "Test product"),
                price=price, currency=kw.pop("currency", "USD"), **kw)
    db.session.add(p)
    db.session.flush()
    return p


def stock(store_: Store, product_: Product, on_hand: int, safety_stock: int = 0):
    row = inventory_stock.lock_rows(store_.id, [product_.id])[product_.id]
    if on_hand:
        ledger.apply(row, reason="receipt", delta_on_hand=on_hand, source="test")
    row.safety_stock = safety_stock
    db.session.flush()
    return row


def user(role: str = "customer", stores: list[Store] = (), email: str | None = None,
         password: str = "password-123"):
    email = email or f"{role}{next(_seq)}@example.com"
    if role == "customer":
        u = accounts.sign_up(email, password, "Test Customer")
    else:
        u = accounts.create_user(email, password, role, [s.id for s in stores])
    db.session.flush()
    return u


def token(u) -> str:
    plain, _ = auth.issue_token(u)
    db.session.commit()
    return plain


def bearer(u) -> dict:
    return {"Authorization": f"Bearer {token(u)}"}
