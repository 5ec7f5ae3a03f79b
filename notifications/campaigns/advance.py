"""The sweep "advance_campaigns": due enrolments take their next step, re-checked at send time.

Claimed FOR UPDATE SKIP LOCKED in batches (one transaction each), so two schedulers never run the
same step; a step's message goes through the outbox (purpose marketing: the delivery sweep's
consent re-check, quiet hours and caps apply at delivery) with the dedupe key
campaign:<enrolment>:<step>:<channel>, so even a step run twice queues one message.

At send time, before anything is queued: the campaign is still active (a paused campaign's
enrolments wait, unclaimed); a cart is still there, unordered and not empty (else the enrolment
exits: order_placed, cart_gone, cart_emptied); a back-in-stock product is still sold (else it
exits: product_gone) and can be had at the store (else the step is skipped: sold_out); the step's
channel has an address and marketing consent (else the step is skipped with the reason, and a
campaign that exits on `unsubscribed` ends the enrolment when no later step could reach them either).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from notifications import consent, receivers
from notifications.campaigns import content
from notifications.campaigns.enrolment import end
from notifications.campaigns.models import Campaign, Enrolment, StepRun
from notifications.models import Message
from notifications.outbox import enqueue
from shop.core import sweeps as runner
from shop.core.clock import clock
from shop.core.extensions import db

BATCH = 200
WITHDRAWN = ("unsubscribed", "sms_stopped")


def due(now: dt.datetime, limit: int):
    return (select(Enrolment).join(Campaign, Campaign.id == Enrolment.campaign_id)
            .where(Enrolment.status == "active", Enrolment.next_due_at <= now, Campaign.status == "active")
            .order_by(Enrolment.next_due_at, Enrolment.id).limit(limit)
            .with_for_update(of=Enrolment, skip_locked=True))


def advance_due(limit: int = BATCH) -> int:
    """One batch in the caller's transaction: run the next step of up to `limit` due enrolments."""
    now = clock.now()
    enrolments = list(db.session.scalars(due(now, limit)).unique())
    for enrolment in enrolments:
        take_step(enrolment, now)
    return len(enrolments)


def sweep(budget: float = runner.BUDGET_SECONDS) -> int:
    """The scheduler's sweep: batches until none is due or the time budget is spent."""
    return runner.repeat("advance_campaigns", advance_due, budget=budget)


def take_step(enrolment: Enrolment, now: dt.datetime) -> StepRun | None:
    """Re-check, then queue the step's message or record why not; move on to the next step."""
    campaign, index = enrolment.campaign, enrolment.next_step
    step = campaign.steps[index]
    subject = content.subject_now(enrolment)
    if subject.exit is not None:
        end(enrolment, "exited", subject.exit)
        return None
    channel = step["channel"]
    address = content.address(enrolment, subject.cart, channel)
    reason = subject.skip or ("no_address" if address is None else None)
    if reason is None:
        ok, reason = consent.allowed(channel, "marketing", customer_id=enrolment.customer_id,
                                     email=address if channel == "email" else None,
                                     phone=address if channel == "sms" else None)
    if reason is not None:
        run = StepRun(enrolment_id=enrolment.id, campaign_id=campaign.id, step=index, channel=channel,
                      outcome="skipped", reason=reason, created_at=now)
        db.session.add(run)
        if reason in WITHDRAWN and "unsubscribed" in (campaign.exit_on or []) and all(
                later["channel"] == channel for later in campaign.steps[index:]):
            end(enrolment, "exited", "unsubscribed")
            return run
    else:
        run = _send(enrolment, step, index, channel, address, subject, now)
    _move_on(enrolment)
    return run


def _send(enrolment: Enrolment, step: dict, index: int, channel: str, address: str, subject: content.SubjectNow,
          now: dt.datetime) -> StepRun:
    locale, zone = receivers.recipient(enrolment.customer_id)
    context = content.context(enrolment, step, subject)
    key = f"campaign:{enrolment.id}:{index}:{channel}"
    message = enqueue(template=step["template"], channel=channel, purpose="marketing", to=address, dedupe_key=key,
                      context=context, customer_id=enrolment.customer_id, order_id=enrolment.order_id,
                      cart_id=enrolment.cart_id, store_id=enrolment.store_id or context.get("store_id"),
                      locale=locale or "en", timezone=zone)
    if message is None:  # queued by an earlier run of this step
        message = db.session.scalar(select(Message).where(Message.dedupe_key == key))
    else:
        message.context = content.tagged(context, enrolment, message.id)
    run = StepRun(enrolment_id=enrolment.id, campaign_id=enrolment.campaign_id, step=index, channel=channel,
                  outcome="sent", message_id=message.id, created_at=now)
    db.session.add(run)
    return run


def _move_on(enrolment: Enrolment) -> None:
    steps = enrolment.campaign.steps
    enrolment.next_step += 1
    if enrolment.next_step >= len(steps):
        end(enrolment, "completed", "all_steps_taken")
        return
    enrolment.next_due_at = enrolment.anchor_at + dt.timedelta(minutes=steps[enrolment.next_step]["delay_minutes"])
