"""What a campaign message shows, asked of the shop at send time (ports): the cart as it is then,
a recovery link tagged with the message, a single-use coupon, recommendations after a pickup, the
product of a back-in-stock alert as it is then (gone: the enrolment exits; sold out again at the
store: the step is skipped)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask import current_app

from notifications.campaigns.models import Enrolment
from shop.core import ports
from shop.core.clock import clock

# A cart's status at send time -> why its enrolment ends
CART_EXITS = {"converted": "order_placed", "merged": "cart_merged", "expired": "cart_expired"}
RECOMMENDATIONS = 4
STOCK_ALERT = "stock_alert:"  # a back_in_stock enrolment's subject


@dataclass(frozen=True)
class SubjectNow:
    """The subject at send time: the cart (a cart's enrolment), why the enrolment ends (`exit`), why
    this step is skipped (`skip`: a later step may find it back), and what the message shows of it."""

    cart: dict | None = None
    exit: str | None = None
    skip: str | None = None
    shows: dict = field(default_factory=dict)


def _stock_alert_now(enrolment: Enrolment) -> SubjectNow:
    """The product of a back-in-stock alert now: withdrawn from the catalog ends it; sold out again
    at the store skips the step; else the message shows how many can be had there."""
    sku = (enrolment.facts or {}).get("sku")
    if ports.ask("product_by_sku", sku) is None:
        return SubjectNow(exit="product_gone")
    available = ports.ask("available_at_store", enrolment.store_id, sku)
    return SubjectNow(skip=None if available > 0 else "sold_out", shows={"available": available})


def _cart_now(cart_id: str) -> SubjectNow:
    cart = ports.ask("cart_for_message", cart_id)
    if cart is None:
        return SubjectNow(exit="cart_gone")
    if cart["status"] != "active":
        return SubjectNow(exit=CART_EXITS.get(cart["status"], "cart_gone"))
    if not cart["lines"]:
        return SubjectNow(exit="cart_emptied")
    return SubjectNow(cart=cart)


def subject_now(enrolment: Enrolment) -> SubjectNow:
    """The subject as it is now (a cart, a back-in-stock product; an order's facts are kept as they were)."""
    if enrolment.subject.startswith(STOCK_ALERT):
        return _stock_alert_now(enrolment)
    if enrolment.cart_id is not None:
        return _cart_now(enrolment.cart_id)
    return SubjectNow()


def address(enrolment: Enrolment, cart: dict | None, channel: str) -> str | None:
    """Where this channel reaches them now: the cart's contact (it may have changed), else the trigger's."""
    key = "email" if channel == "email" else "phone"
    return (cart or {}).get(key) or getattr(enrolment, key)


def _coupon(enrolment: Enrolment, incentive: dict | None, currency: str | None) -> dict | None:
    if not incentive or (incentive["kind"] == "fixed" and not currency):  # an amount needs a currency
        return None
    code = ports.ask("mint_coupon", incentive["kind"], incentive["value"], incentive["valid_days"],
                     f"campaign-{enrolment.campaign_id}", currency=currency if incentive["kind"] == "fixed" else None)
    ends = clock.now() + dt.timedelta(days=incentive["valid_days"])
    return {**incentive, "code": code, "ends_at": ends.isoformat()}


def _recommendations(order_id: int | None) -> list:
    if order_id is None:
        return []
    try:
        return list(ports.ask("recommendations", order_id, RECOMMENDATIONS))[:RECOMMENDATIONS]
    except LookupError:  # nothing provides it (yet): the follow-up goes without
        return []


def context(enrolment: Enrolment, step: dict, subject: SubjectNow) -> dict:
    """The template's context: the trigger's facts, the subject now, the coupon, the campaign's step."""
    facts, cart = {**(enrolment.facts or {}), **subject.shows}, subject.cart
    currency = (cart or {}).get("currency") or facts.get("currency")
    values = {**facts, "campaign_id": enrolment.campaign_id, "step": enrolment.next_step + 1,
              "cart": cart, "recovery_url": None, "currency": currency,
              "coupon": _coupon(enrolment, step.get("incentive"), currency),
              "recommendations": _recommendations(enrolment.order_id) if step["template"] == "post_pickup_follow_up"
              else [], "feedback_url": facts.get("order_url"), "shop_url": current_app.config.get("STOREFRONT_URL")
              or None}
    if cart is not None:
        values.update(store_id=cart["store_id"], store_name=cart["store_name"], store_timezone=cart["store_timezone"])
        values["cart"] = {key: cart[key] for key in ("lines", "subtotal", "currency", "store_name", "line_count")}
    return values


def tagged(values: dict, enrolment: Enrolment, message_id: int) -> dict:
    """The context with the cart's recovery link tagged with this message (for attribution)."""
    if enrolment.cart_id is None:
        return values
    cart = ports.ask("cart_for_message", enrolment.cart_id, message_id=message_id)
    return {**values, "recovery_url": cart["recovery_url"] if cart else None}
