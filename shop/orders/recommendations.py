"""Products bought together with an order's: co-occurrence over collected orders, in one SQL query.

For the post-pickup follow-up (the port "recommendations"): the other collected orders that hold
any of this order's products vote for their other products; a product's score is how many such
orders hold it with one of ours. Ties go to the SKU in alphabetical order, so the same history
always gives the same list. Left out: what the shopper bought (this order, and a customer's other
collected orders), inactive products, and what their store cannot sell now (available 0, by the
one free-units rule of inventory.stock).
"""

from __future__ import annotations

from sqlalchemy import and_, func, literal, select, union

from inventory.models import Product, Stock
from inventory.stock import free_units, reserved_now
from shop.core.clock import clock
from shop.core.extensions import db
from shop.orders.models import Order, OrderLine

COLLECTED = "picked_up"
DEFAULT_LIMIT = 4


def _products_of(order_ids):
    return select(OrderLine.product_id).where(OrderLine.order_id.in_(order_ids))


def _statement(order_id: int, store_id: int, customer_id: int | None, limit: int):
    ours = select(OrderLine.product_id).where(OrderLine.order_id == order_id)
    bought = ours
    if customer_id is not None:
        theirs = select(Order.id).where(Order.customer_id == customer_id, Order.status == COLLECTED)
        bought = union(ours, _products_of(theirs))
    peers = (select(OrderLine.order_id)
             .join(Order, Order.id == OrderLine.order_id)
             .where(OrderLine.product_id.in_(ours), Order.status == COLLECTED, Order.id != order_id)
             .distinct().subquery())
    now = literal(clock.now())
    free = free_units(Stock.on_hand, reserved_now(Stock.reserved, Stock.store_id, Stock.product_id, now),
                      Stock.safety_stock)
    score = func.count(OrderLine.order_id.distinct())
    return (
        select(Product.id, Product.sku, Product.name, Product.price, Product.currency)
        .select_from(OrderLine)
        .join(peers, peers.c.order_id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .join(Stock, and_(Stock.store_id == store_id, Stock.product_id == Product.id))
        .where(Product.active, Product.id.not_in(bought), free > 0)
        .group_by(Product.id, Product.sku, Product.name, Product.price, Product.currency)
        .order_by(score.desc(), Product.sku)
        .limit(limit)
    )


def for_order(order_id: int, limit: int = DEFAULT_LIMIT) -> list[dict]:
    """Up to `limit` products for the shopper of this order (the port "recommendations"); [] for
    an order that does not exist."""
    order = db.session.execute(select(Order.store_id, Order.customer_id).where(Order.id == order_id)).first()
    if order is None:
        return []
    rows = db.session.execute(_statement(order_id, order.store_id, order.customer_id, limit))
    return [{"product_id": pid, "sku": sku, "name": name, "price": price, "currency": currency}
            for pid, sku, name, price, currency in rows]
