"""Recovery links: a signed, expiring token that reopens a cart on any device (never signs anyone in)."""

from __future__ import annotations

import datetime as dt

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from shop.carts.models import Cart
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db

SALT = "cart-recovery"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_token(cart: Cart) -> tuple[str, dt.datetime]:
    token = _serializer().dumps({"cart": cart.id})
    return token, clock.now() + dt.timedelta(seconds=current_app.config["CART_RECOVERY_MAX_AGE_SECONDS"])


def resolve(token: str) -> Cart:
    """The cart to continue with: the one named, or the account cart it was merged into."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["CART_RECOVERY_MAX_AGE_SECONDS"])
    except SignatureExpired as exc:
        raise DomainError("link_expired", "This cart link has expired.") from exc
    except BadSignature as exc:
        raise DomainError("link_invalid", "This cart link is not valid.") from exc
    cart = db.session.get(Cart, data.get("cart") if isinstance(data, dict) else None)
    for _ in range(5):  # follow merges (a cart merged into one that was merged again)
        if cart is None or cart.status != "merged" or cart.merged_into_id is None:
            break
        cart = db.session.get(Cart, cart.merged_into_id)
    if cart is None:
        raise DomainError("link_invalid", "This cart link is not valid.")
    if cart.status == "converted":
        raise DomainError("cart_already_ordered", "This cart has already been ordered.")
    if cart.status != "active":
        raise DomainError("cart_expired", "This cart has expired.")
    return cart
