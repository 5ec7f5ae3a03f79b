"""Adding to a cart, the hottest write in the shop: four statements, no cart loaded into the ORM.

The cart's one version bump (shop.carts.service.bump) takes its row lock and checks If-Match; one
upsert adds the units to the line (INSERT ... ON CONFLICT DO UPDATE), writing nothing when the
rules' cap or an inactive product would refuse it; the snapshot is read back, judged by the rules
and the event appended. The upsert's WHERE is only a faster way to refuse: every answer, accepted
or refused, is the one shop.carts.rules gives for the cart as it would be. A refusal raises, and
the request's rollback undoes the rest.
"""

from __future__ import annotations

from sqlalchemy import bindparam, literal_column, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from inventory.catalog import products_by_sku
from inventory.models import Product
from shop.accounts.actors import Actor
from shop.carts import rules
from shop.carts import service as carts
from shop.carts.models import CartLine
from shop.carts.snapshot import CartSnapshot, load
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.plans import prepared

_lines, _products = CartLine.__table__, Product.__table__


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
        where=total <= literal_column(str(rules.MAX_LINE_QUANTITY)),
    ).returning(_lines.c.quantity)


_UPSERT = {"postgresql": _upsert(pg_insert), "sqlite": _upsert(sqlite_insert)}


def _refusal(cart_id: str, sku: str, quantity: int) -> DomainError:
    """Why the upsert wrote nothing, as the rules say it for the cart with these units added."""
    product = products_by_sku([sku])[sku]  # raises unknown_sku for a SKU not in the catalog
    wanted = rules.added(load(cart_id).lines, rules.Line(sku, quantity, product.currency, product.active))
    error = rules.breach(wanted, [sku])
    if error is None:  # the upsert and the rules disagree: a bug, never a silent refusal
        raise RuntimeError(f"the add upsert refused {quantity} x {sku} that the cart rules allow")
    return error


def add_line(cart_id: str, sku: str, quantity: int, actor: Actor, if_match: str | None = None) -> CartSnapshot:
    """Add units of a SKU to the cart (its existing line grows); the cart as it will be committed."""
    carts.bump(cart_id, actor, if_match)
    upsert = _UPSERT[db.session.get_bind().dialect.name]
    params = {"cart_id": cart_id, "sku": sku, "quantity": quantity, "now": clock.now()}
    with prepared(db.session):  # key lookups: their plans cannot go stale as carts grow
        added_units = db.session.execute(upsert, params).scalar()
    if added_units is None:
        raise _refusal(cart_id, sku, quantity)
    view = load(cart_id)
    rules.check(view.lines, [sku])
    added = next(line for line in view.lines if line.sku == sku)
    carts.log(view, actor, "line_added", f"Added {quantity} × {added.name}", sku=sku, quantity=quantity)
    return view
