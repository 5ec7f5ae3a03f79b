"""Ports: the questions notifications may ask of the shop, answered by functions the shop provides.

notifications imports only the leaves (DESIGN.md, "Which package may import which"), yet a campaign
must read a cart as it is at send time or mint a single-use coupon. So the shop registers one
function per question at start-up (`provide`) and notifications asks by name (`ask`). Each port
has one provider; the names and what they answer are listed here, their one home.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

PORTS = "omnishop.ports"

# name -> what the provider takes and answers (the provider's docstring says more)
KNOWN = {
    # (cart_id) -> dict | None: the cart now (status, contact, store, lines with availability at
    # the pickup store, subtotal, currency), or None when it no longer exists.
    "cart_for_message": "shop.carts",
    # (kind, value, valid_days, batch, currency=None) -> str: a new single-use coupon code.
    "mint_coupon": "shop.carts",
    # (order_id, limit) -> list[dict]: products bought together with the order's, in stock at its store.
    "recommendations": "shop.orders",
    # (sku) -> dict | None: the active product with this SKU ({"product_id", "sku", "name"}).
    "product_by_sku": "inventory",
    # (store_id, sku, lock=False) -> int: units a shopper can reserve there now; lock=True takes the
    # stock row's lock first, so a write of the caller is ordered with stock changes.
    "available_at_store": "inventory",
    # (store_id) -> dict | None: {"id", "code", "name"} of the store, or None when there is none.
    "store_label": "stores",
}


def provide(app: Flask, name: str, fn: Callable[..., Any]) -> None:
    """Register the one answer to `name` (a name must be listed in KNOWN, and provided once)."""
    if name not in KNOWN:
        raise ValueError(f"unknown port {name!r}; list it in shop.core.ports.KNOWN")
    registry = app.extensions.setdefault(PORTS, {})
    if name in registry:
        raise ValueError(f"port {name!r} is provided twice")
    registry[name] = fn


def ask(name: str, *args: Any, **kwargs: Any) -> Any:
    """The provider's answer, in the caller's session and transaction."""
    try:
        fn = current_app.extensions[PORTS][name]
    except KeyError as exc:
        raise LookupError(f"nothing provides port {name!r}") from exc
    return fn(*args, **kwargs)
