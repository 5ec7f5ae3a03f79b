"""Who is acting and through which channel: read once per request from the token and headers."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request

from shop.accounts import auth
from shop.accounts.models import User
from shop.carts.models import CHANNELS
from shop.core.errors import DomainError
from shop.core.limits import MAX_ID


@dataclass(frozen=True)
class Actor:
    """guest, customer or staff; the channel (web, app, store); the counter's store for staff."""

    kind: str
    user: User | None
    channel: str
    store_id: int | None = None

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user else None

    @property
    def customer_id(self) -> int | None:
        return self.user.id if self.user and self.user.role == "customer" else None


def _channel(default: str) -> str:
    channel = request.headers.get("X-Channel", default).strip().lower()
    if channel not in CHANNELS:
        raise DomainError("unknown_channel", "X-Channel must be web, app or store.")
    return channel


def current_actor() -> Actor:
    """The caller as an actor. Staff act at a counter named by X-Store-ID, where they must work."""
    user = auth.current_user()
    if user is None:
        return Actor("guest", None, _channel("web"))
    if user.role == "customer":
        return Actor("customer", user, _channel("web"))
    raw = request.headers.get("X-Store-ID", "")
    if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise DomainError("store_required",
                          "Staff act at a store counter: send its id in X-Store-ID.")
    store_id = int(raw)
    auth.require_store_staff(store_id)
    return Actor("staff", user, _channel("store"), store_id)
