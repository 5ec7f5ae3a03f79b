"""The answers shop.carts gives notifications through shop.core.ports (provided once, here)."""

from __future__ import annotations

from flask import Flask

from shop.carts import coupons
from shop.core import ports


def provide(app: Flask) -> None:
    ports.provide(app, "mint_coupon", coupons.mint_single_use)
