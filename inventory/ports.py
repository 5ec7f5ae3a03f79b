"""The answers inventory gives notifications through shop.core.ports (provided once, here)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from inventory.models import Product
from inventory.stock import lock_rows, store_stock
from shop.core import ports
from shop.core.clock import clock
from shop.core.extensions import db


def _product(sku: str) -> Product | None:
    return db.session.scalar(select(Product).where(Product.sku == sku))


def product_by_sku(sku: str) -> dict | None:
    """The active product with this SKU, or None."""
    product = _product(sku)
    if product is None or not product.active:
        return None
    return {"product_id": product.id, "sku": product.sku, "name": product.name}


def available_at_store(store_id: int, sku: str, *, lock: bool = False) -> int:
    """Units a shopper can reserve of `sku` at the store now (0 for a SKU not in the catalog).

    `lock=True` first locks the stock row (created at zero if missing), as every stock writer does:
    a caller that writes something a later stock change must see (a back-in-stock subscription)
    is then ordered with that change: either the change committed before and is read here, or it
    waits for the caller's commit and then sees what the caller wrote.
    """
    product = _product(sku)
    if product is None:
        return 0
    if lock:
        lock_rows(store_id, [product.id])
    return store_stock(store_id, [sku], clock.now())[0]["available"]


def provide(app: Flask) -> None:
    ports.provide(app, "product_by_sku", product_by_sku)
    ports.provide(app, "available_at_store", available_at_store)
