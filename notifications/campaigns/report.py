"""A campaign's report: a plain dict (the API and the marketing console both show it).

Per step and channel: enrolled (enrolments that reached the step), sent (messages the step queued),
skipped by reason (at the step's re-check, or by the delivery sweep's), delivered (accepted by the
provider: sent or confirmed delivered), clicked (messages whose tagged link was opened), orders and
revenue credited to the step (attribution.py), unsubscribes (a marketing withdrawal on that channel
by the recipient within the attribution window after the message). Then totals, and the recovered
revenue per day (UTC) for the console's line.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from sqlalchemy import and_, distinct, func, or_, select

from notifications.campaigns.models import Campaign, Click, Conversion, Enrolment, StepRun
from notifications.campaigns.service import get
from notifications.consent_models import ConsentRecord
from notifications.models import Message
from shop.core.extensions import db

DELIVERED = ("sent", "delivered")


def _within(column, since: dt.datetime | None, until: dt.datetime | None) -> list:
    """The period asked (`from`, `to`): on when each row happened."""
    return [*([column >= since] if since else []), *([column < until] if until else [])]


def _enrolments(campaign_id: int, period: tuple) -> tuple[Counter, dict]:
    by_status, exited = Counter(), {}
    for status, reason, count in db.session.execute(
            select(Enrolment.status, Enrolment.reason, func.count())
            .where(Enrolment.campaign_id == campaign_id, *_within(Enrolment.created_at, *period))
            .group_by(Enrolment.status, Enrolment.reason)):
        by_status[status] += count
        if status == "exited":
            exited[reason] = exited.get(reason, 0) + count
    return by_status, exited


def _runs(campaign_id: int, period: tuple) -> dict[int, dict]:
    steps: dict[int, dict] = defaultdict(lambda: {"enrolled": 0, "sent": 0, "skipped": Counter(), "delivered": 0})
    stmt = (select(StepRun.step, StepRun.outcome, StepRun.reason, Message.status, Message.reason, func.count())
            .outerjoin(Message, Message.id == StepRun.message_id)
            .where(StepRun.campaign_id == campaign_id, *_within(StepRun.created_at, *period))
            .group_by(StepRun.step, StepRun.outcome, StepRun.reason, Message.status, Message.reason))
    for step, outcome, reason, message_status, message_reason, count in db.session.execute(stmt):
        row = steps[step]
        row["enrolled"] += count
        if outcome == "skipped":
            row["skipped"][reason] += count
            continue
        row["sent"] += count
        if message_status in DELIVERED:
            row["delivered"] += count
        elif message_status == "skipped":
            row["skipped"][message_reason or "skipped_at_delivery"] += count
    return steps


def _per_step(campaign_id: int, stmt) -> dict[int, tuple]:
    return {row[0]: tuple(row[1:]) for row in db.session.execute(stmt.where(StepRun.campaign_id == campaign_id)
                                                                  .group_by(StepRun.step))}


def _unsubscribed(campaign: Campaign, period: tuple) -> dict[int, int]:
    window = dt.timedelta(days=campaign.attribution_days)
    withdrawals = (select(ConsentRecord.occurred_at, ConsentRecord.channel, ConsentRecord.address,
                          ConsentRecord.customer_id)
                   .where(ConsentRecord.purpose == "marketing", ConsentRecord.state == "withdrawn"))
    runs = db.session.execute(
        select(StepRun.step, StepRun.channel, Message.to_address, Message.customer_id, Message.created_at)
        .join(Message, Message.id == StepRun.message_id)
        .where(StepRun.campaign_id == campaign.id, *_within(StepRun.created_at, *period))).all()
    counts: Counter = Counter()
    for step, channel, address, customer_id, sent in runs:
        who = ConsentRecord.address == address
        if customer_id is not None:
            who = or_(who, ConsentRecord.customer_id == customer_id)
        found = db.session.execute(withdrawals.where(and_(ConsentRecord.channel == channel, who,
                                                          ConsentRecord.occurred_at >= sent,
                                                          ConsentRecord.occurred_at <= sent + window))
                                   .limit(1)).first()
        counts[step] += found is not None
    return counts


def _daily(campaign_id: int, period: tuple) -> list[dict]:
    days: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for created_at, revenue in db.session.execute(
            select(Conversion.created_at, Conversion.revenue)
            .where(Conversion.campaign_id == campaign_id, *_within(Conversion.created_at, *period))):
        day = days[created_at.astimezone(dt.UTC).date().isoformat()]
        day[0] += revenue
        day[1] += 1
    return [{"date": date, "revenue": revenue, "orders": orders} for date, (revenue, orders) in sorted(days.items())]


def report(campaign_id: int, since: dt.datetime | None = None, until: dt.datetime | None = None) -> dict:
    """The campaign's figures now (raises campaign_not_found); `since`/`until` keep what happened
    then (enrolments, steps and clicks by when they happened, orders by when they were placed)."""
    campaign = get(campaign_id)
    period = (since, until)
    by_status, exited = _enrolments(campaign.id, period)
    runs = _runs(campaign.id, period)
    clicks = _per_step(campaign.id, select(StepRun.step, func.count(distinct(Click.step_run_id)))
                       .join(Click, Click.step_run_id == StepRun.id).where(*_within(Click.created_at, *period)))
    orders = _per_step(campaign.id, select(StepRun.step, func.count(Conversion.id), func.sum(Conversion.revenue))
                       .join(Conversion, Conversion.step_run_id == StepRun.id)
                       .where(*_within(Conversion.created_at, *period)))
    unsubscribed = _unsubscribed(campaign, period)
    steps = []
    for index, step in enumerate(campaign.steps):
        row = runs.get(index, {"enrolled": 0, "sent": 0, "skipped": Counter(), "delivered": 0})
        count, revenue = orders.get(index, (0, 0))
        steps.append({"step": index + 1, "channel": step["channel"], "template": step["template"],
                      "enrolled": row["enrolled"], "sent": row["sent"], "skipped": dict(row["skipped"]),
                      "delivered": row["delivered"], "clicked": clicks.get(index, (0,))[0],
                      "orders": count, "revenue": int(revenue or 0), "unsubscribed": unsubscribed[index]})
    currency = db.session.scalar(select(Conversion.currency).where(Conversion.campaign_id == campaign.id,
                                                                   Conversion.currency.is_not(None)).limit(1))
    return {"campaign_id": campaign.id, "name": campaign.name, "status": campaign.status, "currency": currency,
            "enrolled": sum(by_status.values()), "active": by_status["active"], "completed": by_status["completed"],
            "exited": exited, "orders": sum(s["orders"] for s in steps), "revenue": sum(s["revenue"] for s in steps),
            "steps": steps, "daily_revenue": _daily(campaign.id, period)}
