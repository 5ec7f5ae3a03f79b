"""Attribution, last touch: a tagged link opened, then an order of that cart or customer within the
campaign's window after the message, credits the step whose message it was.

The window runs from when the message was sent (queued, if it was never sent) for the campaign's
`attribution_days`; the click must come before the order. Of several clicks, the latest whose
window still holds wins, and an order is credited once at most (a unique key on the order).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, bindparam, or_, select

from notifications.campaigns.models import Campaign, Click, Conversion, Enrolment, StepRun
from notifications.models import Message
from shop.core.clock import clock
from shop.core.extensions import db

LOOK_BACK = 20  # the latest clicks of a cart or customer considered for one order


def click(cart_id: str | None, message_id: int) -> Click | None:
    """A tagged link was opened: record it against the step whose message it was."""
    run = db.session.scalar(select(StepRun).where(StepRun.message_id == message_id).limit(1))
    if run is None:  # a test-send, or a message that is no campaign's
        return None
    enrolment = db.session.get(Enrolment, run.enrolment_id)
    entry = Click(step_run_id=run.id, cart_id=cart_id or enrolment.cart_id, customer_id=enrolment.customer_id,
                  created_at=clock.now())
    db.session.add(entry)
    return entry


# The clicks an order may follow: of its cart or its customer (a name bound as NULL matches
# nothing), made before the order. Built once.
CLICKS_OF = and_(or_(Click.cart_id == bindparam("cart_id"), Click.customer_id == bindparam("customer_id")),
                 Click.created_at <= bindparam("now"))
# Each with its step, campaign and message's sending time, the latest first, in one statement.
_LATEST_CLICKS = (
    select(StepRun, Campaign, Message.sent_at).select_from(Click)
    .join(StepRun, StepRun.id == Click.step_run_id).join(Campaign, Campaign.id == StepRun.campaign_id)
    .outerjoin(Message, Message.id == StepRun.message_id)
    .where(CLICKS_OF).order_by(Click.created_at.desc(), Click.id.desc()).limit(LOOK_BACK))


def clicks_params(cart_id: str | None, customer_id: int | None, now: dt.datetime) -> dict | None:
    """CLICKS_OF's parameters; None when neither the cart nor the customer is known."""
    if not cart_id and customer_id is None:
        return None
    return {"cart_id": cart_id or None, "customer_id": customer_id, "now": now}


def credit(order_id: int, cart_id: str | None, customer_id: int | None, total: int,
           currency: str | None) -> Conversion | None:
    """Credit a placed order to the step of the latest click that still counts, if any."""
    now = clock.now()
    params = clicks_params(cart_id, customer_id, now)
    if params is None:
        return None
    for run, campaign, sent_at in db.session.execute(_LATEST_CLICKS, params):
        # the window runs from the sending (the queueing, if it was never sent)
        if now <= (sent_at or run.created_at) + dt.timedelta(days=campaign.attribution_days):
            conversion = Conversion(step_run_id=run.id, campaign_id=campaign.id, order_id=order_id,
                                    revenue=total, currency=currency, created_at=now)
            db.session.add(conversion)
            return conversion
    return None
