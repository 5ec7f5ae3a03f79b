"""Checkout for pickup: reserve every line at the pickup store, price, create the order, start payment.

All of it happens in the request's one transaction, so a refusal (short stock, a Stripe outage)
leaves nothing behind. Never commits.
"""

from __future__ import annotations

import datetime as dt
import secrets

from flask import current_app

from inventory import reservations
from shop.accounts.actors import Actor
from shop.carts import coupons, rules
from shop.carts import service as carts
from shop.carts.pricing import priced
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.orders import queries as orders
from shop.orders import states as order_states
from shop.orders.models import Order, OrderLine
from shop.payments import gateway as payments
from shop.payments.models import Payment
from stores.services import get_store

PAY_AT_STORE_HOLD_MARGIN = dt.timedelta(days=7)


def _contact(cart, data: dict) -> tuple[str, str | None, bool]:
    email = data.get("email") or cart.email
    if not email:
        raise DomainError("email_required", "An email is needed to tell you when the order is ready.")
    phone = data.get("phone") or cart.phone
    if phone and "sms_updates" not in data:
        raise DomainError("sms_choice_required",
                          "With a phone number, say whether you want order texts (sms_updates).")
    return email, phone, bool(phone and data.get("sms_updates"))


def _store_for(cart, method: str):
    if cart.pickup_store_id is None:
        raise DomainError("pickup_store_required", "Choose a pickup store first.")
    store = get_store(cart.pickup_store_id)
    if not store.pickup_enabled:
        raise DomainError("pickup_disabled", f"{store.name} does not offer pickup.")
    if method == "pay_at_store" and not store.pay_at_store_enabled:
        raise DomainError("pay_at_store_unavailable", f"{store.name} does not take payment at pickup.")
    if method == "card" and payments.gateway() is None:
        raise DomainError("card_unavailable", "Card payment is not set up: choose pay_at_store.")
    return store


def _new_order(cart, store, figures: dict, email, phone, sms, method: str, actor: Actor) -> Order:
    now = clock.now()
    order = Order(
        number=orders.new_number(store), access_token=secrets.token_urlsafe(32),
        pickup_code=orders.new_pickup_code(),
        status="pending_payment" if method == "card" else "placed",
        store_id=store.id, customer_id=cart.customer_id, cart_id=cart.id, email=email, phone=phone,
        sms_updates=sms, channel=actor.channel, payment_method=method, currency=figures["currency"],
        subtotal=figures["subtotal"], discount=figures["discount"], total=figures["total"],
        coupon_code=cart.coupon_code if figures["discount"] else None,
        promised_at=orders.ready_by(store, now),
    )
    order.lines = [
        OrderLine(product_id=line.product_id, sku=line.product.sku, name=line.product.name,
                  unit_price=line.product.price, quantity=line.quantity)
        for line in cart.lines
    ]
    db.session.add(order)
    db.session.flush()
    return order


def place(cart_id: str, actor: Actor, data: dict) -> tuple[Order, payments.Intent | None]:
    """Turn the cart into a pickup order; returns the order and, for card, the PaymentIntent."""
    cart = carts.begin_change(cart_id, actor)
    if not cart.lines:
        raise DomainError("cart_empty", "The cart is empty.")
    method = data["payment_method"]
    store = _store_for(cart, method)
    email, phone, sms = _contact(cart, data)
    view = carts.snapshot(cart)
    rules.check(view.lines)  # every line, as it is now: a product may have gone since it was added
    figures = priced(view)
    if figures["coupon"] and not figures["coupon"]["applied"]:
        problem = figures["coupon"]["problem"]
        raise DomainError(problem["code"], problem["detail"] + " Remove the coupon to go on.")
    order = _new_order(cart, store, figures, email, phone, sms, method, actor)

    window = dt.timedelta(seconds=current_app.config["PAYMENT_WINDOW_SECONDS"])
    hold = window if method == "card" else (
        order.promised_at - clock.now() + dt.timedelta(days=store.hold_days) + PAY_AT_STORE_HOLD_MARGIN)
    reservation = reservations.reserve(
        store.id, {line.product: line.quantity for line in cart.lines}, f"order:{order.id}", hold,
        actor_id=actor.user_id)
    order.reservation_id = reservation.id

    intent = None
    if method == "card":
        order.payment_expires_at = clock.now() + window
        try:
            intent = payments.gateway().create(order.total, order.currency, f"order:{order.number}",
                                               key=f"pi-create-{order.access_token[:32]}")
        except payments.PaymentProviderError as exc:
            raise DomainError("payment_provider_unavailable",
                              "The card service did not answer: nothing was ordered, try again.") from exc
        db.session.add(Payment(order_id=order.id, intent_id=intent.id, status=intent.status))

    if order.coupon_code:
        coupon = coupons.find(order.coupon_code, lock=True)  # re-checked under lock: limits hold
        rules.check_coupon(coupon, subtotal=order.subtotal, currency=order.currency, now=clock.now(),
                           customer_id=order.customer_id, email=email)
        coupons.redeem(coupon, order.id, order.customer_id, email)
    cart.status = "converted"
    carts.log(cart, actor, "cart_converted", f"Ordered as {order.number}", order=order.number)
    order_states.record(order, "created", actor, None, payment_method=method)
    if order.status == "placed":
        order_states.SIGNALS["placed"].send(current_app._get_current_object(),
                                            **order_states.message_fields(order), reason=None)
    return order, intent
