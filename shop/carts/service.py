"""Cart services: open, read and change one cart from any device, safely. Never commits.

Every change, the hot add included, starts with one statement (`bump`): an UPDATE that raises the
version and so takes the cart's row lock, returning the version it replaced; If-Match is checked
against that. Two devices editing at once either both land (no If-Match) or one gets 412 (stale
If-Match); nothing is silently lost. What a change may do is decided by shop.carts.rules.
"""

from __future__ import annotations

import re
import secrets

from flask import current_app
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Row

from shop.accounts.actors import Actor
from shop.carts import coupons, rules
from shop.carts import snapshot as cart_snapshot
from shop.carts.models import Cart, CartEvent, CartLine
from shop.carts.snapshot import CartSnapshot
from shop.core import appends, events
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.plans import one_statement, prepared
from stores.services import StoreHours, folded, get_store, joined_with_hours


def new_id() -> str:
    return secrets.token_urlsafe(24)  # 192 random bits


def active_cart_of(customer_id: int) -> Cart | None:
    return db.session.scalar(
        select(Cart).where(Cart.customer_id == customer_id, Cart.status == "active")
    )


def _not_found(cart_id: str) -> DomainError:
    return DomainError("cart_not_found", "No such cart.", cart_id=cart_id)


def check_access(cart, actor: Actor) -> None:
    """A guest cart answers to its id; a customer's cart only to that customer, or to staff at the
    counter of its pickup store (staff of another store, or of none chosen yet, find no such cart)."""
    if cart.customer_id is None:
        return
    if actor.kind == "staff":
        if cart.pickup_store_id is None or cart.pickup_store_id != actor.store_id:
            raise _not_found(cart.id)
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


def get_cart(cart_id: str, actor: Actor, *, active: bool = True) -> Cart:
    """The cart if the actor may see it (to read; a change starts with `begin_change`)."""
    cart = db.session.scalar(select(Cart).where(Cart.id == cart_id))
    if cart is None:
        raise _not_found(cart_id)
    check_access(cart, actor)
    if active:
        check_status(cart)
    return cart


_carts = Cart.__table__
# The one version bump: bump() runs it, and add to cart builds its one statement on it (shop.carts.adds).
_BUMPING = (
    update(_carts)
    .where(_carts.c.id == bindparam("cart_id"))
    .values(version=_carts.c.version + 1, last_activity_at=bindparam("now"), abandoned_at=None)
)
_BUMPED = (_carts.c.id, _carts.c.customer_id, _carts.c.pickup_store_id, _carts.c.status, _carts.c.merged_into_id,
           _carts.c.version)
BUMP = _BUMPING.returning(*_BUMPED)


_REACH = select(_carts.c.id, _carts.c.customer_id, _carts.c.pickup_store_id).where(_carts.c.id == bindparam("cart_id"))


def check_reach(cart_id: str, actor: Actor) -> None:
    """`get_cart(..., active=False)` without loading the cart: may the actor reach it, whatever its
    status (a checkout's replay check). One key lookup."""
    row = db.session.execute(_REACH, {"cart_id": cart_id}).first()
    if row is None:
        raise _not_found(cart_id)
    check_access(row, actor)


def bump(cart_id: str, actor: Actor, if_match: str | None = None) -> Row:
    """The one version bump every change starts with; the cart's row as it now stands.

    One statement raises the version (and notes the activity), which takes the row lock, so
    changes queue here; then the actor, the cart's status and If-Match are checked, If-Match
    against the version this statement replaced. A refusal raises and the request's rollback
    undoes the bump.
    """
    with prepared(db.session):  # a key lookup: its plan cannot go stale as carts grow
        row = db.session.execute(BUMP, {"cart_id": cart_id, "now": clock.now()}).first()
    return bumped(cart_id, row, actor, if_match)


def bumped(cart_id: str, row: Row | None, actor: Actor, if_match: str | None) -> Row:
    """The checks after the bump (the cart's row it returned, None if no such cart): whoever runs
    BUMP runs these."""
    if row is None:
        raise _not_found(cart_id)
    check_access(row, actor)
    check_status(row)
    check_version(row.version - 1, if_match)
    return row


def begin_change(cart_id: str, actor: Actor, if_match: str | None = None) -> Cart:
    """`bump`, then the ORM cart to change.

    The cart and its lines load after the lock is held, so they include whatever a concurrent
    change committed before it.
    """
    bump(cart_id, actor, if_match)
    return db.session.scalar(select(Cart).where(Cart.id == cart_id).execution_options(populate_existing=True))


def read_cart(cart_id: str, actor: Actor) -> CartSnapshot:
    """The cart as the actor may see it, in one statement (shop.cart_snapshot)."""
    cart = cart_snapshot.load(cart_id)
    if cart is None:
        raise _not_found(cart_id)
    check_access(cart, actor)
    check_status(cart)
    return cart


# A checkout's bump: the same version bump, which also marks an active cart converted.
_CONVERTING = _BUMPING.where(_carts.c.status == "active").values(status="converted")
_CONVERT = _CONVERTING.returning(*_BUMPED)


# The pickup store with its hours rides along (a checkout's next read): read on the statement's
# snapshot, before the UPDATE waited for the cart's lock, which is as good as reading it just before
# the convert (no lock keeps a store from changing a moment later, either way).
_CONVERT_AND_READ = cart_snapshot.after(
    _CONVERTING, lambda query, changed: joined_with_hours(query, changed.c.pickup_store_id))


def convert(cart_id: str, actor: Actor) -> tuple[CartSnapshot, StoreHours | None]:
    """`bump` for a checkout, which also marks the cart converted (its order is written in this
    transaction; any refusal rolls both back): one statement instead of two. The cart is then read
    after the lock, so it includes whatever a concurrent change committed before it: on PostgreSQL
    in the same statement (`snapshot.after`; read again when a change committed while it waited
    for the lock), elsewhere by `snapshot.load`. A cart the statement did not change (gone, or no
    longer active) gets the plain `bump`, which says why. Also the pickup store with its hours
    when that statement read them (else None: the caller reads them, `with_hours`)."""
    params = {"cart_id": cart_id, "now": clock.now()}
    if one_statement():
        changed, cart, row = cart_snapshot.locked(_CONVERT_AND_READ, params)
    else:
        with prepared(db.session):  # a key lookup, as the bump
            changed, cart, row = db.session.execute(_CONVERT, params).first() is not None, None, None
    if not changed:
        bump(cart_id, actor)  # raises: no such cart, not theirs, or not active (never active again)
        raise RuntimeError(f"cart {cart_id} is active but was not converted")  # pragma: no cover
    cart = cart or cart_snapshot.load(cart_id)
    check_access(cart, actor)
    return cart, None if row is None else folded(row)


def snapshot(cart: Cart) -> CartSnapshot:
    """What a change is about to commit, read back in the same transaction."""
    db.session.flush()
    return cart_snapshot.load(cart.id)


_ENTITY_TAG = r'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"'
_IF_MATCH = re.compile(rf"[ \t]*{_ENTITY_TAG}(?:[ \t]*,[ \t]*{_ENTITY_TAG})*[ \t]*")


def check_version(version: int, if_match: str | None) -> None:
    """Check an If-Match header (None: not sent) against the cart's current `version`.

    `*` or a list naming the current ETag strongly passes; any other list of entity tags is a 412;
    anything that is not one (an unquoted or empty value) is a 400, never a silent success.
    """
    if if_match is None or if_match.strip() == "*":
        return
    if _IF_MATCH.fullmatch(if_match) is None:
        raise DomainError("bad_if_match", 'If-Match must be "*" or a list of quoted ETags, as sent in ETag.')
    if ("", version_etag(version)) not in re.findall(_ENTITY_TAG, if_match):  # ("", ...): not weak
        raise DomainError("stale_cart", "The cart changed since you read it: reload it.",
                          current_version=version)


def version_etag(version: int) -> str:
    return f"cart-{version}"


def etag(cart: Cart | CartSnapshot) -> str:
    return version_etag(cart.version)


_LOG = insert(CartEvent.__table__)


def log(cart: Cart | CartSnapshot, actor: Actor, type_: str, summary: str, **detail) -> None:
    """Append the event of a change (its `bump` came first; Core: events are only ever appended,
    at once or with the block's other writes inside `appends.together()`) and tell the timeline."""
    with prepared(db.session):  # a plain INSERT: nothing in its plan can go stale
        appends.write(_LOG, {
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
    rules.check(rules.with_quantity([rules.Line.of(each) for each in cart.lines], sku, quantity), [sku])
    line.quantity = quantity
    log(cart, actor, "line_changed", f"Changed {line.product.name} to {quantity}", sku=sku, quantity=quantity)
    return cart


def remove_line(cart: Cart, sku: str, actor: Actor) -> Cart:
    line = _line(cart, sku)
    cart.lines.remove(line)
    log(cart, actor, "line_removed", f"Removed {line.product.name}", sku=sku)
    return cart


def update_details(cart: Cart, changes: dict, actor: Actor) -> Cart:
    """Choose the pickup store; give a guest's email or phone. A customer's contact details are
    theirs: staff never change them (checkout would send the order's messages there)."""
    if actor.kind == "staff" and cart.customer_id is not None and {"email", "phone"} & set(changes):
        raise DomainError("forbidden", "Staff cannot change a customer's contact details; the customer can.")
    if "pickup_store_id" in changes and changes["pickup_store_id"] is not None:
        store = get_store(changes["pickup_store_id"])
        if not store.pickup_enabled:
            raise DomainError("pickup_disabled", f"{store.name} does not offer pickup.")
    for key in ("pickup_store_id", "email", "phone"):
        if key in changes:
            setattr(cart, key, changes[key])
    log(cart, actor, "details_changed", "Changed " + ", ".join(sorted(changes)), fields=sorted(changes))
    return cart


def subtotal_and_currency(cart: Cart) -> tuple[int, str | None]:
    subtotal = sum(line.product.price * line.quantity for line in cart.lines)
    return subtotal, (cart.lines[0].product.currency if cart.lines else None)


def apply_coupon(cart: Cart, code: str, actor: Actor) -> Cart:
    """Check the code against this cart now (422 with the reason), then keep it on the cart."""
    coupon = coupons.find(code)
    subtotal, currency = subtotal_and_currency(cart)
    rules.check_coupon(coupon, subtotal=subtotal, currency=currency, now=clock.now(),
                  customer_id=cart.customer_id, email=cart.email)
    cart.coupon_code = coupon.code
    log(cart, actor, "coupon_applied", f"Applied coupon {coupon.code}", code=coupon.code)
    return cart


def remove_coupon(cart: Cart, code: str, actor: Actor) -> Cart:
    if cart.coupon_code is None or cart.coupon_code != coupons.normalize(code):
        raise DomainError("coupon_not_applied", f"Coupon {code!r} is not on this cart.")
    cart.coupon_code = None
    log(cart, actor, "coupon_removed", f"Removed coupon {code}", code=code)
    return cart
