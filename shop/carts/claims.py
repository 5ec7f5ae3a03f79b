"""Guest to customer: a signed-in shopper claims a guest cart, merging it into their one active cart.

Also links a shopper's earlier guest carts when they verify their email (shop.guest_history calls
link_verified_email; never by name, never by an unverified address).
"""

from __future__ import annotations

from sqlalchemy import select

from shop.accounts.actors import Actor
from shop.accounts.models import User
from shop.carts import coupons
from shop.carts import service as carts
from shop.carts.models import Cart, CartLine
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db


def _merge_lines(source: Cart, target: Cart) -> list[str]:
    notes = []
    by_product = {line.product_id: line for line in target.lines}
    for line in source.lines:
        mine = by_product.get(line.product_id)
        if mine is None:
            if len(target.lines) >= carts.MAX_LINES:
                notes.append(f"{line.product.sku} was not added: at most {carts.MAX_LINES} lines.")
                continue
            target.lines.append(CartLine(product=line.product, product_id=line.product_id,
                                         quantity=line.quantity, unit_price_at_add=line.unit_price_at_add))
            continue
        total = mine.quantity + line.quantity
        if total > carts.MAX_LINE_QUANTITY:
            notes.append(f"{line.product.sku}: {total} wanted, capped at {carts.MAX_LINE_QUANTITY}.")
            total = carts.MAX_LINE_QUANTITY
        mine.quantity = total
    return notes


def _carry_coupon(source: Cart, target: Cart) -> list[str]:
    if not source.coupon_code or target.coupon_code:
        return []
    subtotal, currency = carts.subtotal_and_currency(target)
    try:
        coupon = coupons.find(source.coupon_code)
        coupons.check(coupon, subtotal=subtotal, currency=currency, now=clock.now(),
                      customer_id=target.customer_id, email=target.email)
    except DomainError as exc:
        return [f"Coupon {source.coupon_code} was not kept: {exc.detail}"]
    target.coupon_code = coupon.code
    return []


def merge(source: Cart, target: Cart, actor: Actor) -> Cart:
    notes = _merge_lines(source, target) + _carry_coupon(source, target)
    if target.pickup_store_id is None:
        target.pickup_store_id = source.pickup_store_id
    target.notes = list(target.notes or []) + notes
    source.status, source.merged_into_id = "merged", target.id
    carts.record(source, actor, "cart_merged", "Merged into the account cart", into=target.id)
    carts.record(target, actor, "cart_merged_in",
                 f"Merged in a cart from another device ({len(source.lines)} lines)",
                 source=source.id, notes=notes)
    return target


def claim(cart_id: str, customer: User, actor: Actor) -> Cart:
    """Attach a guest cart to the customer, merging it into their active cart if they have one."""
    cart = carts.get_cart(cart_id, actor, lock=True)
    if cart.customer_id == customer.id:
        return cart
    if cart.customer_id is not None:
        raise DomainError("cart_not_found", "No such cart.")
    target = db.session.scalar(
        select(Cart).where(Cart.customer_id == customer.id, Cart.status == "active")
        .with_for_update().execution_options(populate_existing=True)
    )
    if target is None:
        cart.customer_id = customer.id
        cart.email = cart.email or customer.email
        carts.record(cart, actor, "cart_claimed", "Signed in and kept this cart")
        return cart
    return merge(cart, target, actor)


def link_verified_email(customer: User) -> None:
    """Earlier guest carts with this (now verified) email become the customer's."""
    actor = Actor("customer", customer, "web")
    guest_carts = db.session.scalars(
        select(Cart).where(Cart.customer_id.is_(None), Cart.email == customer.email).order_by(Cart.created_at)
    ).all()
    for cart in guest_carts:
        if cart.status == "active":
            claim(cart.id, customer, actor)
        else:
            cart.customer_id = customer.id

