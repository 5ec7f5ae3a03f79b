"""Attribution, last touch: a tagged link opened, then an order of that cart or customer within the
campaign's window after the message, credits the step whose message it was.

The window runs from when the message was sent (queued, if it was never sent) for the campaign's
`attribution_days`; the click must come before the order. Of several clicks, the latest whose
window still holds wins, and an order is credited once at most (a unique key on the order).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select

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


def _sent_at(run: StepRun) -> dt.datetime:
    message = db.session.get(Message, run.message_id) if run.message_id is not None else None
    return (message.sent_at if message is not None and message.sent_at else None) or run.created_at


def credit(order_id: int, cart_id: str | None, customer_id: int | None, total: int,
           currency: str | None) -> Conversion | None:
    """Credit a placed order to the step of the latest click that still counts, if any."""
    who = [Click.cart_id == cart_id] if cart_id else []
    if customer_id is not None:
        who.append(Click.customer_id == customer_id)
    if not who:
        return None
    now = clock.now()
    rows = db.session.execute(
        select(Click, StepRun, Campaign).join(StepRun, StepRun.id == Click.step_run_id)
        .join(Campaign, Campaign.id == StepRun.campaign_id)
        .where(or_(*who), Click.created_at <= now)
        .order_by(Click.created_at.desc(), Click.id.desc()).limit(LOOK_BACK)).all()
    for _, run, campaign in rows:
        if now <= _sent_at(run) + dt.timedelta(days=campaign.attribution_days):
            conversion = Conversion(step_run_id=run.id, campaign_id=campaign.id, order_id=order_id,
                                    revenue=total, currency=currency, created_at=now)
            db.session.add(conversion)
            return conversion
    return None
