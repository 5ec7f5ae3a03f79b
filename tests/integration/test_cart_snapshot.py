"""The cart read runs on the session's connection (shop.carts.snapshot.load), not through the
session: it must still see what this transaction changed and has not flushed yet, as it did."""

from __future__ import annotations

from shop.accounts.actors import Actor
from shop.carts import adds, snapshot
from shop.carts import service as carts
from shop.carts.models import CartLine
from shop.core.extensions import db
from tests.support import factories as f


def test_the_cart_read_sees_changes_not_yet_flushed(app):
    shop = f.store()
    f.stock(shop, f.product(sku="MUG"), on_hand=10)
    guest = Actor("guest", None, "web")
    cart, _ = carts.open_cart(guest, shop.id)
    adds.add_line(cart.id, "MUG", 1, guest)
    db.session.commit()
    line = db.session.scalars(db.select(CartLine).where(CartLine.cart_id == cart.id)).one()
    line.quantity = 3  # pending in the session, not flushed
    assert [(row.sku, row.quantity) for row in snapshot.load(cart.id).lines] == [("MUG", 3)]
    db.session.rollback()
    assert [(row.sku, row.quantity) for row in snapshot.load(cart.id).lines] == [("MUG", 1)]
