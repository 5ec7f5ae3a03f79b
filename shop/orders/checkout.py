"""Checkout for pickup: check the cart, start payment, reserve every line at the pickup store, create the order.

All of it happens in the request's one transaction, so a refusal (short stock, a Stripe outage)
leaves nothing behind in our database; the PaymentIntent is created before any row is locked.
Never commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app

from inventory import reservations
from shop.accounts.actors import Actor
from shop.carts import coupons, rules
from shop.carts import service as carts
from shop.carts.pricing import priced
from shop.carts.snapshot import CartSnapshot
from shop.core import events
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.orders import order_rows
from shop.orders import queries as orders
from shop.orders import states as order_states
from shop.orders.models import Order
from shop.payments import gateway as payments
from shop.payments.models import Payment
from stores.services import StoreHours, with_hours

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


def _store_for(cart, method: str, store: StoreHours | None):
    """The cart's pickup store with its hours (the promised time reads them): `store` when the
    cart's read brought it (`carts.convert`), else read here; refused if it cannot take this order."""
    if cart.pickup_store_id is None:
        raise DomainError("pickup_store_required", "Choose a pickup store first.")
    store = store or with_hours(cart.pickup_store_id)
    if not store.pickup_enabled:
        raise DomainError("pickup_disabled", f"{store.name} does not offer pickup.")
    if method == "pay_at_store" and not store.pay_at_store_enabled:
        raise DomainError("pay_at_store_unavailable", f"{store.name} does not take payment at pickup.")
    if method == "card" and payments.gateway() is None:
        raise DomainError("card_unavailable", "Card payment is not set up: choose pay_at_store.")
    return store


def _new_order(cart: CartSnapshot, store, figures: dict, email, phone, sms, method: str, actor: Actor) -> Order:
    """The order and its lines: the cart's lines as read under its lock, at the products' current prices."""
    now = clock.now()
    return order_rows.write({
        "number": orders.new_number(store), "access_token": secrets.token_urlsafe(32),
        "pickup_code": orders.new_pickup_code(), "status": "pending_payment" if method == "card" else "placed",
        "store_id": store.id, "customer_id": cart.customer_id, "cart_id": cart.id, "email": email, "phone": phone,
        "sms_updates": sms, "channel": actor.channel, "payment_method": method, "currency": figures["currency"],
        "subtotal": figures["subtotal"], "discount": figures["discount"], "total": figures["total"],
        "coupon_code": cart.coupon_code if figures["discount"] else None,
        "promised_at": orders.ready_by(store, now),
    }, [{"product_id": line.product_id, "sku": line.sku, "name": line.name, "unit_price": line.price,
         "quantity": line.quantity} for line in cart.lines])


def intent_key(client_key: str, cart_id: str, amount: int, currency: str) -> str:
    """The provider's idempotency key of a checkout's PaymentIntent: the same client request (its
    Idempotency-Key) for the same cart and amount always asks for the same intent, so a retry after
    a crash or a lost reply reuses it instead of leaving an orphan."""
    digest = hashlib.sha256(f"{client_key}\n{cart_id}\n{amount}\n{currency}".encode()).hexdigest()
    return f"pi-create-{digest[:48]}"


def _checked(view: CartSnapshot, data: dict, store: StoreHours | None = None) -> tuple:
    """Every rule a checkout must pass, on the cart as read (`store`: its pickup store, if read
    with it): the store, the pickup contact, each line (a product may have gone since it was
    added), the coupon; then the store, the contact and the cart's figures."""
    if not view.lines:
        raise DomainError("cart_empty", "The cart is empty.")
    store = _store_for(view, data["payment_method"], store)
    contact = _contact(view, data)
    rules.check(view.lines)
    figures = priced(view)
    if figures["coupon"] and not figures["coupon"]["applied"]:
        problem = figures["coupon"]["problem"]
        raise DomainError(problem["code"], problem["detail"] + " Remove the coupon to go on.")
    return store, contact, figures


def _start_payment(cart_id: str, figures: dict, client_key: str) -> payments.Intent:
    """Create the PaymentIntent; no lock is held while the provider answers."""
    try:
        return payments.gateway().create(figures["total"], figures["currency"], f"cart:{cart_id}",
                                         key=intent_key(client_key, cart_id, figures["total"], figures["currency"]))
    except payments.PaymentProviderError as exc:
        raise DomainError("payment_provider_unavailable",
                          "The card service did not answer: nothing was ordered, try again.") from exc


def place(cart_id: str, actor: Actor, data: dict,
          client_key: str | None = None) -> tuple[Order, payments.Intent | None]:
    """Turn the cart into a pickup order; returns the order and, for card, the PaymentIntent.

    By card the cart is read and checked without a lock, the PaymentIntent created (the slow call),
    and only then the cart locked (its version bumped, as every change does) and checked again: if
    it changed meanwhile (another version, another total) the answer is 409 `cart_changed` and the
    intent, never confirmed, holds no money. Paid at the store nothing slow comes before the lock,
    so the cart is locked and checked once (the same checks; a refusal rolls the bump back). Then
    the stock is reserved and the order written, so no row is locked while the provider answers.
    `client_key` is the request's Idempotency-Key (a card checkout needs it).
    """
    db.session.flush()  # the one-statement reads below see what this transaction changed so far
    method = data["payment_method"]
    intent = figures = None
    if method == "card":
        store, _, figures = _checked(carts.read_cart(cart_id, actor), data)  # `store` kept: the session
        # holds its objects weakly, and a store dropped here would be loaded again below
        if not client_key:
            raise ValueError("a card checkout needs the client's Idempotency-Key")
        intent = _start_payment(cart_id, figures, client_key)

    cart, store = carts.convert(cart_id, actor)  # the lock (the version goes up by one, as on every change), read
    store, (email, phone, sms), locked = _checked(cart, data, store)
    if figures is not None and (locked["version"] != figures["version"] + 1 or _total(locked) != _total(figures)):
        raise DomainError("cart_changed", "The cart changed while the order was being placed: "
                                          "check it and order again.", current_version=locked["version"] - 1)
    order = _new_order(cart, store, locked, email, phone, sms, method, actor)

    window = dt.timedelta(seconds=current_app.config["PAYMENT_WINDOW_SECONDS"])
    hold = window if method == "card" else (
        order.promised_at - clock.now() + dt.timedelta(days=store.hold_days) + PAY_AT_STORE_HOLD_MARGIN)
    # The hold id goes with the order's other changes in the "created" event's write (one UPDATE of the
    # row: two writes of one row in one statement would lose one, shop/core/appends.py).
    order.reservation_id = reservations.reserve_lines(store.id, cart.lines, f"order:{order.id}", hold,
                                                      actor_id=actor.user_id)

    if intent is not None:
        order.payment_expires_at = clock.now() + window
        db.session.add(Payment(order_id=order.id, intent_id=intent.id, status=intent.status))

    if order.coupon_code:
        coupon = coupons.find(order.coupon_code, lock=True)  # re-checked under lock: limits hold
        rules.check_coupon(coupon, subtotal=order.subtotal, currency=order.currency, now=clock.now(),
                           customer_id=order.customer_id, email=email)
        coupons.redeem(coupon, order.id, order.customer_id, email)
    carts.log(cart, actor, "cart_converted", f"Ordered as {order.number}", order=order.number)
    order_states.record(order, "created", actor, None, payment_method=method)
    if order.status == "placed":
        order_states.SIGNALS["placed"].send(current_app._get_current_object(),
                                            **order_states.message_fields(order), reason=None)
    if data.get("email_marketing"):  # a yes to offers by email, to be confirmed by email (double opt-in)
        events.marketing_email_requested.send(current_app._get_current_object(), customer_id=order.customer_id,
                                              email=email, source="checkout", wording=data["marketing_wording"],
                                              reference=f"order:{order.id}")
    return order, intent


def _total(figures: dict) -> tuple[int, str]:
    return figures["total"], figures["currency"]
