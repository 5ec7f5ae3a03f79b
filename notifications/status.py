"""The one rule for a message's status after it is claimed: it only moves forward.

A provider's report can arrive before our own write of "sent" (Twilio calls back fast) or late
and out of order (a "sent" after "delivered"): whichever comes last, the furthest state wins.
"""

from __future__ import annotations

import datetime as dt

from notifications.models import Message

RANK = {"queued": 0, "held": 0, "skipped": 0, "sending": 1, "sent": 2, "delivered": 3, "failed": 3}


def advance(message: Message, status: str, at: dt.datetime, reason: str | None = None) -> bool:
    """Move to `status` if that is further along; False (and nothing changed) otherwise."""
    if RANK[status] <= RANK[message.status]:
        return False
    message.status = status
    if status in ("sent", "delivered") and message.sent_at is None:
        message.sent_at = at
    if status == "delivered":
        message.delivered_at = at
    message.reason = reason
    return True
