"""Adding to a cart, the hottest write in the shop: four statements, no cart loaded into the ORM.

One UPDATE bumps the cart's version and takes its row lock (so concurrent changes queue and a
stale If-Match is caught against the version it replaced); one upsert adds the units to the line
(INSERT ... ON CONFLICT DO UPDATE, refused past 99 by its WHERE); the snapshot is read back and the
event appended. A refusal found on the way raises, and the request's rollback undoes the rest.
The other cart changes go through shop.carts with the ORM; both bump the same version.
"""

from __future__ import annotations

from sqlalchemy import bindparam, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from inventory.catalog import products_by_sku
from inventory.models import Product
from shop.accounts.actors import Actor
from shop.carts import service as carts
from shop.carts.models import Cart, CartLine
from shop.carts.snapshot import CartSnapshot, load
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.plans import prepared

_carts, _lines, _products = Cart.__table__, CartLine.__table__, Product.__table__

_BUMP = (
    update(_carts)
    .where(_carts.c.id == bindparam("cart_id"))
    .values(version=_carts.c.version + 1, last_activity_at=bindparam("now"))
    .returning(_carts.c.id, _carts.c.customer_id, _carts.c.status, _carts.c.merged_into_id, _carts.c.version)
)


def _upsert(insert):
    chosen = select(
        bindparam("cart_id"), _products.c.id, bindparam("quantity"), _products.c.price, bindparam("now")
    ).where(_products.c.sku == bindparam("sku"), _products.c.active)
    stmt = insert(_lines).from_select(["cart_id", "product_id", "quantity", "unit_price_at_add", "added_at"],
                                      chosen)
    total = _lines.c.quantity + stmt.excluded.quantity
    return stmt.on_conflict_do_update(
        index_elements=["cart_id", "product_id"],
        set_={"quantity": total},
        where=total <= literal_column(str(carts.MAX_LINE_QUANTITY)),
    ).returning(_lines.c.quantity)


_UPSERT = {"postgresql": _upsert(pg_insert), "sqlite": _upsert(sqlite_insert)}


def _refusal(cart_id: str, sku: str) -> DomainError:
    """Why the upsert wrote nothing: the SKU is unknown or inactive (422), or the line is full."""
    products_by_sku([sku], active_only=True)  # raises unknown_sku
    held = db.session.scalar(
        select(_lines.c.quantity).join(_products, _products.c.id == _lines.c.product_id)
        .where(_lines.c.cart_id == cart_id, _products.c.sku == sku)
    )
    return DomainError("quantity_too_large",
                       f"At most {carts.MAX_LINE_QUANTITY} of one SKU; the cart has {held}.")


def add_line(cart_id: str, sku: str, quantity: int, actor: Actor, if_match=None) -> CartSnapshot:
    """Add units of a SKU to the cart (its existing line grows); the cart as it will be committed."""
    now = clock.now()
    with prepared(db.session):  # a key lookup: its plan cannot go stale as carts grow
        cart = db.session.execute(_BUMP, {"cart_id": cart_id, "now": now}).first()
    if cart is None:
        raise DomainError("cart_not_found", "No such cart.", cart_id=cart_id)
    carts.check_access(cart, actor)
    carts.check_status(cart)
    carts.check_version(cart.version - 1, if_match)
    upsert = _UPSERT[db.session.get_bind().dialect.name]
    params = {"cart_id": cart_id, "sku": sku, "quantity": quantity, "now": now}
    with prepared(db.session):  # key lookups too
        added_units = db.session.execute(upsert, params).scalar()
    if added_units is None:
        raise _refusal(cart_id, sku)
    view = load(cart_id)
    if len(view.lines) > carts.MAX_LINES:
        raise DomainError("too_many_lines", f"A cart holds at most {carts.MAX_LINES} lines.")
    added = next(line for line in view.lines if line.sku == sku)
    others = {line.currency for line in view.lines if line.sku != sku}
    if others and added.currency not in others:
        raise DomainError("currency_mismatch",
                          f"{sku} is priced in {added.currency}; the cart is in {others.pop()}.")
    carts.log(view, actor, "line_added", f"Added {quantity} × {added.name}", sku=sku, quantity=quantity)
    return view
