"""The outbox backlog for /metrics: how many messages are due and not yet final, and how late the oldest is.

One statement over ix_messages_pending_due_at_id (the partial index of rows not final, by due_at):
it reads the due part of the backlog, never the sent history. Counting is linear in the backlog;
a backlog large enough for that to matter is the alert itself.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from notifications.models import FINAL, Message
from shop.core import metrics
from shop.core.clock import clock
from shop.core.extensions import db

DUE = "omnishop_outbox_due_messages"
AGE = "omnishop_outbox_oldest_due_age_seconds"
HELPS = {DUE: "Messages due and not yet sent, held back or given up (queued, held or sending).",
         AGE: "How long the oldest due message has waited past its due time, in seconds (0: none due)."}


def read() -> dict[str, float]:
    now = clock.now()
    count, oldest = db.session.execute(
        select(func.count(), func.min(Message.due_at)).where(Message.status.not_in(FINAL), Message.due_at <= now)
    ).one()
    return {DUE: count, AGE: 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())}


def init_app(app: Flask) -> None:
    metrics.register_gauges(app, "outbox", HELPS, read)
