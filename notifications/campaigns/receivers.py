"""Signals -> campaign rows, in the sender's transaction and without network I/O.

carts_abandoned (a batch of carts, enrolled together: enrolment.enrol_many), order_picked_up,
order_expired, a back-in-stock subscriber told (stock_alert_told) and a keyword confirmed by Y
(sms_keyword_confirmed) enrol (enrolment.enrol); order_placed exits
the enrolments of the cart and of the order's contact (account, email, phone) and credits the
order (attribution.credit); a line removed that leaves an enrolled cart empty exits it; an opened
tagged link is a click; `flask shop demo` adds the demo campaigns.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import exists, select

from notifications import consent
from notifications import receivers as order_receivers
from notifications.campaigns import attribution, demo
from notifications.campaigns.enrolment import ACTIVE_OF, Entrant, enrol, enrol_many, exit_params, exit_where
from notifications.campaigns.models import Enrolment
from shop.core import appends, events, ports
from shop.core.clock import clock
from shop.core.extensions import db

# An order signal -> the trigger it is (the subject is the order)
ORDER_TRIGGERS = {"order_picked_up": "order_picked_up", "order_expired": "order_expired"}
ORDER_FACTS = ("number", "store_id", "store_name", "store_address", "store_timezone", "total", "currency")


def entrant(cart_id, customer_id=None, email=None, phone=None, store_id=None, idle_since=None, **facts) -> Entrant:
    """An abandoned cart as the signal tells it, entering from when it went idle."""
    return Entrant(f"cart:{cart_id}", customer_id=customer_id, email=email, phone=phone, store_id=store_id,
                   cart_id=cart_id, at=idle_since, facts={**facts, "idle_since": idle_since})


def on_carts_abandoned(sender, carts):
    enrol_many("cart_abandoned", [entrant(**cart) for cart in carts])


def on_order(trigger: str, fields: dict) -> None:
    facts = {key: fields.get(key) for key in ORDER_FACTS}
    facts["order_url"] = order_receivers.order_url(fields)
    enrol(trigger, f"order:{fields['order_id']}", customer_id=fields.get("customer_id"), email=fields.get("email"),
          phone=fields.get("phone"), store_id=fields.get("store_id"), order_id=fields["order_id"], facts=facts)


def on_stock_alert_told(sender, alert_id, customer_id=None, email=None, phone=None, store_id=None, **facts):
    enrol("back_in_stock", f"stock_alert:{alert_id}", customer_id=customer_id, email=email, phone=phone,
          store_id=store_id, facts={**facts, "store_id": store_id})


def on_sms_keyword_confirmed(sender, optin_id, phone, **facts):
    """The number's account, when exactly one has it, is who enters: its orders end the enrolment
    (and count against its cool-down) whatever number they carry. A shared number stays the number's."""
    owners = consent.customers_at("sms", phone)
    enrol("sms_keyword", f"sms_keyword:{optin_id}", customer_id=owners[0] if len(owners) == 1 else None,
          phone=phone, facts=facts)


# Is there an enrolment an order could end, or a click it could follow? Most orders have neither,
# and then this one statement is all their campaigns cost.
_ANYTHING_FOR_ORDER = select(exists().where(ACTIVE_OF), exists().where(attribution.CLICKS_OF))


def on_order_placed(sender, order_id, cart_id=None, customer_id=None, email=None, phone=None, total=0,
                    currency=None, **_):
    params = exit_params(cart_id=cart_id, customer_id=customer_id, email=email, phone=phone)
    if params is None:  # no cart, account, email or phone: nothing to end, no click to follow
        return

    def then(row):
        enrolled, clicked = row
        if enrolled:
            exit_where("order_placed", cart_id=cart_id, customer_id=customer_id, email=email, phone=phone)
        if clicked:
            attribution.credit(order_id, cart_id, customer_id, total or 0, currency)

    # In a checkout, asked with its last writes (nothing of this order's own writes can change the
    # answer): the rare follow-up runs after them, in the same transaction.
    appends.read_after(_ANYTHING_FOR_ORDER, {**params, "now": clock.now()}, then)


def on_cart_changed(sender, cart_id, type=None, **_):  # noqa: A002 - the signal's field
    if type != "line_removed":
        return
    enrolled = db.session.scalar(select(Enrolment.id).where(Enrolment.cart_id == cart_id,
                                                            Enrolment.status == "active").limit(1))
    if enrolled is None:
        return
    cart = ports.ask("cart_for_message", cart_id)
    if cart is None or not cart["lines"]:
        exit_where("cart_emptied", cart_id=cart_id)


def on_link_opened(sender, cart_id, message_id, **_):
    attribution.click(cart_id, message_id)


def connect(app: Flask) -> None:
    """One receiver per signal (sender=app)."""
    events.carts_abandoned.connect(on_carts_abandoned, sender=app, weak=False)
    events.order_placed.connect(on_order_placed, sender=app, weak=False)
    events.cart_changed.connect(on_cart_changed, sender=app, weak=False)
    events.cart_link_opened.connect(on_link_opened, sender=app, weak=False)
    events.stock_alert_told.connect(on_stock_alert_told, sender=app, weak=False)
    events.sms_keyword_confirmed.connect(on_sms_keyword_confirmed, sender=app, weak=False)
    events.demo_loaded.connect(lambda sender, **_: demo.ensure_all(), sender=app, weak=False)
    for name, trigger in ORDER_TRIGGERS.items():
        def receiver(sender, _trigger=trigger, **fields):
            on_order(_trigger, fields)

        getattr(events, name).connect(receiver, sender=app, weak=False)
