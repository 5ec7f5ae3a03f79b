"""Adding to a cart, the hottest write in the shop: no cart loaded into the ORM, three statements on
PostgreSQL (four on SQLite).

The cart's one version bump (shop.carts.service.BUMP) takes its row lock, and one upsert adds the
units to the line (INSERT ... ON CONFLICT DO UPDATE), writing nothing when the rules' cap or an
inactive product would refuse it. On PostgreSQL the two are one statement (the bump as a CTE the
upsert reads its cart from, so the line is written only after the lock is held; a concurrent add's
line is seen by ON CONFLICT, which works on the newest row, not the statement's snapshot); SQLite
cannot write in a CTE and runs them one after the other. Then the bump's checks (access, status,
If-Match) run on the row it returned, the snapshot is read back, judged by the rules and the event
appended. The upsert's WHERE is only a faster way to refuse: every answer, accepted or refused, is
the one shop.carts.rules gives for the cart as it would be. A refusal raises, and the request's
rollback undoes the rest (the bump and the line alike).
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


def _upsert(insert, cart=None):
    """The line's upsert, for the cart bound as `cart_id`, or the one the bump's CTE `cart` returned."""
    product = (_products.c.sku == bindparam("sku")) & _products.c.active
    chosen = select(bindparam("cart_id") if cart is None else cart.c.id, _products.c.id, bindparam("quantity"),
                    _products.c.price, bindparam("now"))
    chosen = chosen.where(product) if cart is None else chosen.select_from(cart.join(_products, product))
    stmt = insert(_lines).from_select(["cart_id", "product_id", "quantity", "unit_price_at_add", "added_at"],
                                      chosen)
    total = _lines.c.quantity + stmt.excluded.quantity
    return stmt.on_conflict_do_update(
        index_elements=["cart_id", "product_id"],
        set_={"quantity": total},
        where=total <= literal_column(str(rules.MAX_LINE_QUANTITY)),
    ).returning(_lines.c.quantity)


def _bump_and_upsert():
    """PostgreSQL: the bump and the upsert as one statement; the bumped cart's row and the units
    now on the line (None: the upsert wrote nothing)."""
    bump = carts.BUMP.cte("bump")
    added = _upsert(pg_insert, bump).cte("added")
    return select(*bump.c, select(added.c.quantity).scalar_subquery().label("added_units"))


_BUMP_AND_UPSERT = _bump_and_upsert()
_UPSERT = _upsert(sqlite_insert)


def _bump_and_add(cart_id: str, actor: Actor, if_match: str | None, params: dict) -> int | None:
    """The bump and its checks, then the upsert: the units now on the line, None if it wrote nothing."""
    if db.session.get_bind().dialect.name != "postgresql":
        carts.bump(cart_id, actor, if_match)
        return db.session.execute(_UPSERT, params).scalar()
    with prepared(db.session):  # key lookups: their plans cannot go stale as carts grow
        row = db.session.execute(_BUMP_AND_UPSERT, params).first()
    return carts.bumped(cart_id, row, actor, if_match).added_units


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
    params = {"cart_id": cart_id, "sku": sku, "quantity": quantity, "now": clock.now()}
    if _bump_and_add(cart_id, actor, if_match, params) is None:
        raise _refusal(cart_id, sku, quantity)
    view = load(cart_id)
    rules.check(view.lines, [sku])
    added = next(line for line in view.lines if line.sku == sku)
    carts.log(view, actor, "line_added", f"Added {quantity} × {added.name}", sku=sku, quantity=quantity)
    return view
