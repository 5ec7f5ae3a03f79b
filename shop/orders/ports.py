"""The answers shop.orders gives notifications through shop.core.ports (provided once, here)."""

from __future__ import annotations

from flask import Flask

from shop.core import ports
from shop.orders import recommendations


def provide(app: Flask) -> None:
    ports.provide(app, "recommendations", recommendations.for_order)
