"""Cart services: open, read and change one cart from any device, safely. Never commits.

Every change locks the cart row first (SELECT ... FOR UPDATE), checks If-Match against the locked
version, applies the change and bumps the version, so two devices editing at once either both land
(no If-Match) or one gets 412 (stale If-Match); nothing is silently lost.
"""

from __future__ import annotations

import secrets

from flask import current_app
from sqlalchemy import insert, select

from shop.accounts.actors import Actor
from shop.carts import coupons
from shop.carts import snapshot as cart_snapshot
from shop.carts.models import Cart, CartEvent, CartLine
from shop.carts.snapshot import CartSnapshot
from shop.core import events
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.plans import prepared
from stores.services import get_store

MAX_LINE_QUANTITY = 99
MAX_LINES = 100


def new_id() -> str:
    return secrets.token_urlsafe(24)  # 192 random bits


def active_cart_of(customer_id: int) -> Cart | None:
    return db.session.scalar(
        select(Cart).where(Cart.customer_id == customer_id, Cart.status == "active")
    )


def _not_found(cart_id: str) -> DomainError:
    return DomainError("cart_not_found", "No such cart.", cart_id=cart_id)


def check_access(cart, actor: Actor) -> None:
    """A guest cart answers to its id; a customer's cart only to that customer or counter staff."""
    if cart.customer_id is None or actor.kind == "staff":
        return
    if actor.kind == "guest":
        raise DomainError("sign_in_required", "This cart belongs to an account: sign in.",
                          headers={"WWW-Authenticate": 'Bearer realm="omnishop"'})
    if actor.customer_id != cart.customer_id:
        raise _not_found(cart.id)


def check_status(cart) -> None:
    """Only an active cart changes; a merged one says where it went."""
    if cart.status == "merged":
        raise DomainError("cart_merged", "This cart was merged into the shopper's account cart.",
                          merged_into=cart.merged_into_id)
    if cart.status == "converted":
        raise DomainError("cart_converted", "This cart has already been ordered.")
    if cart.status == "expired":
        raise DomainError("cart_expired", "This cart has expired.")


def get_cart(cart_id: str, actor: Actor, *, lock: bool = False, active: bool = True) -> Cart:
    """The cart if the actor may see it; `lock` takes the row lock every change needs.

    The lines load in a second statement, after the lock is held: joined into the locking
    statement they would come from its snapshot, taken before a concurrent change committed.
    """
    stmt = select(Cart).where(Cart.id == cart_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    cart = db.session.scalar(stmt)
    if cart is None:
        raise _not_found(cart_id)
    check_access(cart, actor)
    if active:
        check_status(cart)
    return cart


def read_cart(cart_id: str, actor: Actor) -> CartSnapshot:
    """The cart as the actor may see it, in one statement (shop.cart_snapshot)."""
    cart = cart_snapshot.load(cart_id)
    if cart is None:
        raise _not_found(cart_id)
    check_access(cart, actor)
    check_status(cart)
    return cart


def snapshot(cart: Cart) -> CartSnapshot:
    """What a change is about to commit, read back in the same transaction."""
    db.session.flush()
    return cart_snapshot.load(cart.id)


def check_version(version: int, if_match) -> None:
    """412 when the client sent an If-Match that is not the ETag of the cart's current `version`."""
    if if_match and not if_match.contains(version_etag(version)) and not if_match.star_tag:
        raise DomainError("stale_cart", "The cart changed since you read it: reload it.",
                          current_version=version)


def version_etag(version: int) -> str:
    return f"cart-{version}"


def etag(cart: Cart | CartSnapshot) -> str:
    return version_etag(cart.version)


def record(cart: Cart, actor: Actor, type_: str, summary: str, **detail) -> None:
    """Bump the version, note the activity and log the event; the timeline hears of it by signal."""
    cart.version += 1
    cart.last_activity_at = clock.now()
    log(cart, actor, type_, summary, **detail)


_LOG = insert(CartEvent.__table__)


def log(cart: Cart | CartSnapshot, actor: Actor, type_: str, summary: str, **detail) -> None:
    """Append the event at once (Core: events are only ever appended) and tell the timeline."""
    with prepared(db.session):  # a plain INSERT: nothing in its plan can go stale
        db.session.execute(_LOG, {
            "cart_id": cart.id, "type": type_, "channel": actor.channel, "actor_type": actor.kind,
            "actor_id": actor.user_id, "store_id": actor.store_id, "detail": detail, "created_at": clock.now()})
    events.cart_changed.send(
        current_app._get_current_object(), cart_id=cart.id, customer_id=cart.customer_id,
        type=type_, channel=actor.channel, actor_type=actor.kind, summary=summary,
    )


def open_cart(actor: Actor, pickup_store_id: int | None) -> tuple[Cart, bool]:
    """A new cart; a signed-in customer gets their one active cart (created if missing)."""
    if pickup_store_id is not None:
        get_store(pickup_store_id)
    if actor.customer_id is not None:
        existing = active_cart_of(actor.customer_id)
        if existing is not None:
            return existing, False
    cart = Cart(id=new_id(), customer_id=actor.customer_id, pickup_store_id=pickup_store_id,
                channel=actor.channel, notes=[])
    if actor.user is not None and actor.customer_id is not None:
        cart.email, cart.phone = actor.user.email, actor.user.phone
    db.session.add(cart)
    db.session.flush()
    log(cart, actor, "cart_created", "Started a cart")
    return cart, True


def _line(cart: Cart, sku: str) -> CartLine:
    for line in cart.lines:
        if line.product.sku == sku:
            return line
    raise DomainError("line_not_found", f"The cart has no line for {sku}.")


def set_quantity(cart: Cart, sku: str, quantity: int, actor: Actor) -> Cart:
    line = _line(cart, sku)
    line.quantity = quantity
    record(cart, actor, "line_changed", f"Changed {line.product.name} to {quantity}", sku=sku,
           quantity=quantity)
    return cart


def remove_line(cart: Cart, sku: str, actor: Actor) -> Cart:
    line = _line(cart, sku)
    cart.lines.remove(line)
    record(cart, actor, "line_removed", f"Removed {line.product.name}", sku=sku)
    return cart


def update_details(cart: Cart, changes: dict, actor: Actor) -> Cart:
    """Choose the pickup store; give a guest's email or phone."""
    if "pickup_store_id" in changes and changes["pickup_store_id"] is not None:
        store = get_store(changes["pickup_store_id"])
        if not store.pickup_enabled:
            raise DomainError("pickup_disabled", f"{store.name} does not offer pickup.")
    for key in ("pickup_store_id", "email", "phone"):
        if key in changes:
            setattr(cart, key, changes[key])
    record(cart, actor, "details_changed", "Changed " + ", ".join(sorted(changes)), fields=sorted(changes))
    return cart


def subtotal_and_currency(cart: Cart) -> tuple[int, str | None]:
    subtotal = sum(line.product.price * line.quantity for line in cart.lines)
    return subtotal, (cart.lines[0].product.currency if cart.lines else None)


def apply_coupon(cart: Cart, code: str, actor: Actor) -> Cart:
    """Check the code against this cart now (422 with the reason), then keep it on the cart."""
    coupon = coupons.find(code)
    subtotal, currency = subtotal_and_currency(cart)
    coupons.check(coupon, subtotal=subtotal, currency=currency, now=clock.now(),
                  customer_id=cart.customer_id, email=cart.email)
    cart.coupon_code = coupon.code
    record(cart, actor, "coupon_applied", f"Applied coupon {coupon.code}", code=coupon.code)
    return cart


def remove_coupon(cart: Cart, code: str, actor: Actor) -> Cart:
    if cart.coupon_code is None or cart.coupon_code != coupons.normalize(code):
        raise DomainError("coupon_not_applied", f"Coupon {code!r} is not on this cart.")
    cart.coupon_code = None
    record(cart, actor, "coupon_removed", f"Removed coupon {code}", code=code)
    return cart
