"""Signal -> outbox rows. Never network I/O: rows join the sender's transaction (sent iff it commits).

Each message has a dedupe key "event:subject:step:channel", so a repeated signal adds nothing.
"""

from __future__ import annotations

import hashlib

from flask import Flask, current_app

from notifications.outbox import enqueue
from shop.accounts.models import User
from shop.core import events
from shop.core.extensions import db

TRANSACTIONAL = "transactional"
# Order signal -> (template, whether it also goes as a text when the shopper asked for order texts)
ORDER_MESSAGES = {
    "order_placed": ("order_placed", False),
    "order_ready": ("order_ready", True),
    "pickup_reminder_due": ("pickup_reminder", True),
    "order_picked_up": ("order_picked_up", False),
    "order_cancelled": ("order_cancelled", False),
    "order_expired": ("order_expired", False),
    "payment_failed": ("payment_failed", False),
    "order_refunded": ("order_refunded", False),
}
PRIVATE_FIELDS = ("access_token",)


def recipient(customer_id: int | None) -> tuple[str | None, str | None]:
    """The account's locale and time zone, when the recipient has an account."""
    user = db.session.get(User, customer_id) if customer_id is not None else None
    return (user.locale, user.timezone) if user is not None else (None, None)


def order_url(fields: dict) -> str | None:
    base = current_app.config.get("STOREFRONT_URL")
    return f"{base.rstrip('/')}/orders/{fields['order_id']}?token={fields['access_token']}" if base else None


def order_message(signal_name: str, fields: dict) -> None:
    """The messages one order signal asks for: an email, and a text when the shopper opted in
    (`later`: nothing reads them back in the transaction)."""
    template, with_text = ORDER_MESSAGES[signal_name]
    context = {k: v for k, v in fields.items() if k not in PRIVATE_FIELDS}
    context["order_url"] = order_url(fields)
    # A refund is the only step that can happen more than once: its cumulative total tells them apart.
    step = fields["refunded_amount"] if signal_name == "order_refunded" else 0
    locale, zone = recipient(fields.get("customer_id"))
    common = {"template": template, "purpose": TRANSACTIONAL, "context": context,
              "customer_id": fields.get("customer_id"), "order_id": fields["order_id"],
              "store_id": fields.get("store_id"), "locale": locale or "en", "timezone": zone}
    enqueue(channel="email", to=fields["email"], **common, later=True,
            dedupe_key=f"{template}:{fields['order_id']}:{step}:email")
    if with_text and fields.get("sms_updates") and fields.get("phone"):
        enqueue(channel="sms", to=fields["phone"], **common, later=True,
                dedupe_key=f"{template}:{fields['order_id']}:{step}:sms")


def verification_message(user_id: int, email: str, token: str):
    """The email-verification mail; the token's hash keys it, so a new token is a new message."""
    locale, zone = recipient(user_id)
    digest = hashlib.sha256(token.encode()).hexdigest()[:16]
    return enqueue(template="email_verification", channel="email", purpose=TRANSACTIONAL, to=email,
                   dedupe_key=f"email_verification:user-{user_id}:{digest}:email",
                   context={"token": token, "email": email}, customer_id=user_id,
                   locale=locale or "en", timezone=zone)


def init_app(app: Flask) -> None:
    """Connect one receiver per signal (sender=app: another app's signals are not ours)."""

    def on_verification(sender, user_id: int, email: str, token: str, **_):
        verification_message(user_id, email, token)

    events.email_verification_requested.connect(on_verification, sender=app, weak=False)
    for name in ORDER_MESSAGES:
        def on_order(sender, _name=name, **fields):
            order_message(_name, fields)

        getattr(events, name).connect(on_order, sender=app, weak=False)
