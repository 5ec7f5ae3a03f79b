"""The delivery sweep: claim due messages, re-check them, send them after committing, record what happened.

Each step is its own `shop.core.transactions.transaction()`:

1. Claim (one short transaction): due `queued`/`held` rows, and `sending` rows whose worker
   vanished (older than OUTBOX_SENDING_LEASE_SECONDS), with FOR UPDATE SKIP LOCKED on PostgreSQL,
   so two sweeps never take the same row. Each is re-checked (consent, the order still open),
   then paced (quiet hours, marketing caps, checked under a per-recipient advisory lock so two
   nodes never both pass one cap): `skipped` or `held` with a new due_at, or `sending`.
2. Commit the claim, then send: no network I/O while holding row locks.
3. Record each outcome in its own transaction: `sent` with the provider's id (and a timeline
   entry); a transient error goes back to `queued` with exponential backoff and jitter until
   OUTBOX_MAX_ATTEMPTS, then `failed`; a permanent error is `failed` at once.

A worker killed between a send and its record leaves the row `sending`; after the lease it is
sent again. Delivery is therefore at least once (docs/notifications.md).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections import Counter

from flask import current_app
from jinja2 import TemplateError
from sqlalchemy import and_, or_, select

from notifications import pacing, recheck, rendering, senders
from notifications.models import Message
from notifications.senders.base import PermanentSendError, SendError, SendResult, TransientSendError
from notifications.status import advance
from shop.core import events
from shop.core.clock import clock
from shop.core.extensions import db
from shop.core.transactions import transaction

log = logging.getLogger(__name__)
BATCH = 50


def backoff(attempts: int) -> dt.timedelta:
    """Exponential (base * 2^(n-1), capped) with equal jitter: half fixed, half random."""
    config = current_app.config
    delay = min(config["OUTBOX_RETRY_MAX_SECONDS"], config["OUTBOX_RETRY_BASE_SECONDS"] * 2 ** max(attempts - 1, 0))
    return dt.timedelta(seconds=delay / 2 + random.uniform(0, delay / 2))


def _due(now: dt.datetime, limit: int) -> list[Message]:
    lease = dt.timedelta(seconds=current_app.config["OUTBOX_SENDING_LEASE_SECONDS"])
    stmt = (select(Message)
            .where(or_(and_(Message.status.in_(("queued", "held")), Message.due_at <= now),
                       and_(Message.status == "sending", Message.updated_at <= now - lease)))
            .order_by(Message.due_at, Message.id).limit(limit)
            .with_for_update(skip_locked=True).execution_options(populate_existing=True))
    return list(db.session.scalars(stmt))


def _triage(message: Message, now: dt.datetime, counts: Counter) -> bool:
    """Skip, hold or take one claimed message; True when it is to be sent now."""
    reason = recheck.refusal(message)
    if reason is not None:
        message.status, message.reason = "skipped", reason
        counts["skipped"] += 1
        return False
    for why, until in (("quiet_hours", pacing.quiet_until(message, now)),
                       ("marketing_cap", pacing.cap_until(message, now))):
        if until is not None:
            message.status, message.reason, message.due_at = "held", why, until
            counts["held"] += 1
            return False
    message.status, message.attempts, message.updated_at = "sending", message.attempts + 1, now
    db.session.flush()  # the next message's cap sees this one
    return True


def claim(limit: int, counts: Counter) -> tuple[int, list[Message]]:
    """Claim and triage up to `limit` due messages in one transaction; return (how many claimed, those to send)."""
    with transaction():
        now = clock.now()
        due = _due(now, limit)
        pacing.lock_recipients(due)  # before any cap is read: another node's claim commits first
        to_send = [message for message in due if _triage(message, now, counts)]
    return len(due), to_send


def _send(message: Message) -> SendResult | SendError:
    try:
        rendered = rendering.render(message.template, message.channel, message.locale, message.context or {},
                                    purpose=message.purpose, to=message.to_address)
    except (rendering.UnknownTemplate, TemplateError) as exc:
        return PermanentSendError(f"cannot render: {type(exc).__name__}: {exc}")
    try:
        return senders.for_channel(message.channel).send(message, rendered)
    except SendError as exc:
        return exc
    except Exception as exc:  # a sender bug must not stop the sweep: retried, and logged
        log.exception("sender failed on message %s", message.id)
        return TransientSendError(f"unexpected: {type(exc).__name__}")


def _summary(message: Message) -> str:
    context = message.context or {}
    subject = f"order {context['number']}" if context.get("number") else message.template.replace("_", " ")
    return f"{message.channel.capitalize()} sent: {message.template.replace('_', ' ')} ({subject})"


def record(message_id: int, outcome: SendResult | SendError, counts: Counter) -> None:
    """Write one send's outcome in its own transaction (the row locked: the status webhook may race)."""
    with transaction():
        _record(message_id, outcome, counts)


def _record(message_id: int, outcome: SendResult | SendError, counts: Counter) -> None:
    now = clock.now()
    message = db.session.scalars(select(Message).where(Message.id == message_id).with_for_update()
                                 .execution_options(populate_existing=True)).one()
    if isinstance(outcome, SendResult):
        message.provider_id = outcome.provider_id
        advance(message, "sent", now)
        message.sent_at = message.sent_at or now
        counts["sent"] += 1
        if message.customer_id is not None:
            events.message_sent.send(current_app._get_current_object(), customer_id=message.customer_id,
                                     message_id=message.id, template=message.template,
                                     channel=message.channel, summary=_summary(message))
    elif message.status == "sending":
        if isinstance(outcome, PermanentSendError):
            advance(message, "failed", now, outcome.reason)
            counts["failed"] += 1
        elif message.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
            advance(message, "failed", now, f"gave up after {message.attempts} attempts: {outcome.reason}"[:300])
            counts["failed"] += 1
        else:
            message.status, message.reason, message.due_at = "queued", outcome.reason, now + backoff(message.attempts)
            counts["retrying"] += 1


def _release(messages: list[Message]) -> None:
    """Out of time before sending these: back in the queue as they were, the attempt not counted."""
    ids = [m.id for m in messages]
    with transaction():
        for message in db.session.scalars(select(Message).where(Message.id.in_(ids), Message.status == "sending")
                                          .with_for_update().execution_options(populate_existing=True)):
            message.status, message.attempts = "queued", max(message.attempts - 1, 0)


def deliver_due(limit: int = 200, budget_seconds: float = 50.0) -> dict:
    """Send what is due, at most `limit` messages and for about `budget_seconds`; the scheduler's sweep.

    Commits as it goes (claim, then one commit per message sent): call it outside a request.
    Returns counts by outcome: sent, retrying, failed, held, skipped.
    """
    started, counts, handled = time.monotonic(), Counter(), 0
    while handled < limit and time.monotonic() - started < budget_seconds:
        claimed, to_send = claim(min(BATCH, limit - handled), counts)
        if claimed == 0:
            break
        handled += claimed
        for index, message in enumerate(to_send):
            if time.monotonic() - started >= budget_seconds:
                _release(to_send[index:])
                break
            record(message.id, _send(message), counts)
    return dict(counts)
