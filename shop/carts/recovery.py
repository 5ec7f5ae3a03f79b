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


def make_token(cart: Cart | str, message_id: int | None = None) -> tuple[str, dt.datetime]:
    """A link's token; `message_id` tags it with the campaign message it is in (signed with it,
    so an opened link credits that message and no other: notifications.campaigns.attribution)."""
    payload = {"cart": cart if isinstance(cart, str) else cart.id}
    if message_id is not None:
        payload["msg"] = message_id
    token = _serializer().dumps(payload)
    return token, clock.now() + dt.timedelta(seconds=current_app.config["CART_RECOVERY_MAX_AGE_SECONDS"])


def url_for_token(token: str) -> str | None:
    """Where a link with this token points: the storefront's page when STOREFRONT_URL is set,
    else the API's recovery endpoint on PUBLIC_BASE_URL (None when neither is set)."""
    storefront, public = current_app.config.get("STOREFRONT_URL"), current_app.config.get("PUBLIC_BASE_URL")
    if storefront:
        return f"{storefront.rstrip('/')}/cart/recover/{token}"
    return f"{public.rstrip('/')}/api/v1/carts/recover/{token}" if public else None


def resolve(token: str) -> Cart:
    """The cart to continue with: the one named, or the account cart it was merged into."""
    return resolve_tagged(token)[0]


def resolve_tagged(token: str) -> tuple[Cart, int | None]:
    """`resolve`, and the message the link was tagged with (None for a link the shopper made)."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["CART_RECOVERY_MAX_AGE_SECONDS"])
    except SignatureExpired as exc:
        raise DomainError("link_expired", "This cart link has expired.") from exc
    except BadSignature as exc:
        raise DomainError("link_invalid", "This cart link is not valid.") from exc
    data = data if isinstance(data, dict) else {}
    message_id = data.get("msg") if isinstance(data.get("msg"), int) else None
    cart = db.session.get(Cart, data.get("cart"))
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
    return cart, message_id
