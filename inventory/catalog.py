"""The item master: products by SKU, searched with keyset pagination. Never commits."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, or_, select

from inventory.models import Product
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.pagination import Page, keyset


def get_product(sku: str) -> Product:
    product = db.session.scalar(db.select(Product).where(Product.sku == sku))
    if product is None:
        raise DomainError("product_not_found", f"No product with SKU {sku}.")
    return product


_BY_SKU = select(Product).where(Product.sku.in_(bindparam("skus", expanding=True)))  # built once: hot


def products_by_sku(skus: Iterable[str], *, active_only: bool = False) -> dict[str, Product]:
    """The products for these SKUs in one query; one 422 naming every unknown (or inactive) SKU."""
    wanted = list(dict.fromkeys(skus))
    found = {p.sku: p for p in db.session.scalars(_BY_SKU, {"skus": wanted})}
    unknown = [s for s in wanted if s not in found or (active_only and not found[s].active)]
    if unknown:
        raise DomainError(
            "unknown_sku", f"Unknown SKU: {', '.join(unknown)}.", skus=unknown
        )
    return found


def _check_unique(data: dict, product_id: int | None = None) -> None:
    for field in ("sku", "gtin"):
        value = data.get(field)
        if value is None:
            continue
        stmt = db.select(Product.id).where(getattr(Product, field) == value)
        if product_id is not None:
            stmt = stmt.where(Product.id != product_id)
        if db.session.scalar(stmt) is not None:
            raise DomainError(f"{field}_taken", f"{field.upper()} {value} is already in the catalog.")


def create_product(data: dict) -> Product:
    _check_unique(data)
    product = Product(**data)
    db.session.add(product)
    db.session.flush()
    return product


def update_product(product: Product, data: dict) -> Product:
    _check_unique(data, product.id)
    for key, value in data.items():
        setattr(product, key, value)
    db.session.flush()
    return product


def search(q: str | None, limit: int, cursor: str | None) -> Page:
    """Products whose SKU starts with, or whose name contains, `q`; ordered by SKU, one page."""
    stmt = db.select(Product)
    if q:
        text = q.strip().lower()
        stmt = stmt.where(
            or_(
                db.func.lower(Product.sku).startswith(text, autoescape=True),
                db.func.lower(Product.name).contains(text, autoescape=True),
                Product.gtin == text,
            )
        )
    return keyset(stmt, (Product.sku,), limit=limit, cursor=cursor)
