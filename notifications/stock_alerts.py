"""Back in stock: subscribe, cancel, and the receiver that tells each waiting subscriber once.

Inventory sends `stock_available` when what shoppers can reserve of a SKU at a store goes from 0
to more, in the transaction that made the change; the receiver queues one `back_in_stock` message
per waiting alert there (dedupe key "back_in_stock:<alert id>") and marks the alert told, so a
later fall and rise tells nobody twice.

Purpose: transactional. The shopper asked for this one message about this SKU at this store; it
is the answer to their request, like an order update, not an offer (no coupon, no other product).
So it needs no marketing consent and ignores quiet hours, but it respects a withdrawal for its
channel: the delivery sweep's re-check (notifications.recheck) skips it after an unsubscribe or a
STOP. A text needs a yes for texts: subscribing by phone records one (its wording names the alert).

A subscription is refused (409 `stock_available_now`) while the SKU can be had there: a shopper
asks to be told when it is back. The availability is read under the stock row's lock (the port
`available_at_store` with lock=True), so a stock change racing with the subscription either came
first (and the 409 says so) or waits for this commit and then finds the alert.
"""

from __future__ import annotations

import secrets

from flask import Flask, current_app
from sqlalchemy import select

from notifications import consent
from notifications.outbox import enqueue, locale_of
from notifications.stock_alert_models import StockAlert
from shop.accounts.models import User
from shop.core import events, ports
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db

TEMPLATE = "back_in_stock"
PURPOSE = "transactional"


def _wording(sku: str, store_id: int) -> str:
    return f"Text me once when {sku} is back in stock at store {store_id} (back-in-stock alert)."


def subscribe(store_id: int, sku: str, *, customer: User | None, email: str | None, phone: str | None,
              locale: str | None, source: str) -> tuple[StockAlert, bool]:
    """(the alert, whether it is new): an alert already waiting for this address is given back."""
    product = ports.ask("product_by_sku", sku)
    if product is None:
        raise DomainError("unknown_sku", f"Unknown SKU: {sku}.", skus=[sku])
    channel, address = ("sms", phone) if phone else ("email", email or (customer.email if customer else None))
    if address is None:
        raise DomainError("contact_required", "Give an email or a phone number to be told, or sign in.")
    address = consent.address_for(channel, address)
    if channel == "sms" and consent.stopped_by_text(address):
        raise DomainError("sms_stopped", "This number texted STOP: text START to our number first.")
    available = ports.ask("available_at_store", store_id, sku, lock=True)
    if available > 0:
        raise DomainError("stock_available_now", f"{sku} is in stock at this store now.", available=available)
    existing = db.session.scalar(select(StockAlert).where(
        StockAlert.store_id == store_id, StockAlert.product_id == product["product_id"],
        StockAlert.channel == channel, StockAlert.address == address, StockAlert.status == "waiting"))
    if existing is not None:
        return existing, False
    alert = StockAlert(id=secrets.token_urlsafe(32), store_id=store_id, product_id=product["product_id"], sku=sku,
                       customer_id=customer.id if customer else None, channel=channel, address=address,
                       locale=locale_of(customer.locale if customer else locale), status="waiting")
    db.session.add(alert)
    if channel == "sms":
        last = consent.latest("sms", PURPOSE, customer_id=alert.customer_id, address=address)
        if last is None or last.state != consent.GRANTED:
            consent.record("sms", PURPOSE, consent.GRANTED, source, _wording(sku, store_id),
                           customer_id=alert.customer_id, phone=address, reference=f"stock_alert:{alert.id}")
    db.session.flush()
    return alert, True


def cancel(store_id: int, alert_id: str) -> None:
    """The holder of the alert's id stops it; an alert already told or cancelled stays as it is."""
    alert = db.session.get(StockAlert, alert_id)
    if alert is None or alert.store_id != store_id:
        raise DomainError("stock_alert_not_found", "No such stock alert at this store.")
    if alert.status == "waiting":
        alert.status, alert.closed_at = "cancelled", clock.now()


def _link(store_id: int, sku: str) -> str | None:
    base = current_app.config.get("STOREFRONT_URL")
    return f"{base.rstrip('/')}/products/{sku}?store={store_id}" if base else None


def tell(store_id: int, sku: str, product_id: int, available: int, store_name: str | None = None) -> int:
    """Queue one message per waiting alert for this SKU at this store and mark them told; how many."""
    alerts = list(db.session.scalars(
        select(StockAlert).where(StockAlert.store_id == store_id, StockAlert.product_id == product_id,
                                 StockAlert.status == "waiting").order_by(StockAlert.id)
        .with_for_update()))
    if not alerts:
        return 0
    product = ports.ask("product_by_sku", sku) or {"name": sku}
    context = {"sku": sku, "name": product["name"], "store_id": store_id, "store_name": store_name,
               "product_url": _link(store_id, sku)}
    now = clock.now()
    for alert in alerts:
        message = enqueue(template=TEMPLATE, channel=alert.channel, purpose=PURPOSE, to=alert.address,
                          dedupe_key=f"{TEMPLATE}:{alert.id}:{alert.channel}", context=context,
                          customer_id=alert.customer_id, store_id=store_id, locale=alert.locale)
        alert.status, alert.closed_at = "told", now
        alert.message_id = message.id if message is not None else None
        _told(alert, context)
    return len(alerts)


def _told(alert: StockAlert, context: dict) -> None:
    """Say a subscriber was told (campaigns of the back_in_stock trigger may follow up, with consent)."""
    events.stock_alert_told.send(
        current_app._get_current_object(), alert_id=alert.id, customer_id=alert.customer_id,
        email=alert.address if alert.channel == "email" else None,
        phone=alert.address if alert.channel == "sms" else None, store_id=alert.store_id,
        store_name=context["store_name"], sku=alert.sku, name=context["name"], product_url=context["product_url"])


def connect(app: Flask) -> None:
    def on_available(sender, store_id, sku, product_id, available, store_name=None, **_):
        tell(store_id, sku, product_id, available, store_name)

    events.stock_available.connect(on_available, sender=app, weak=False)
