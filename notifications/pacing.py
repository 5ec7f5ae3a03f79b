"""When a message may go: quiet hours for texts and caps on marketing. Both answer "not before T".

Quiet hours are local to the recipient (their zone, else the pickup store's, else
SMS_DEFAULT_TIMEZONE): order texts 08:00-21:00, marketing texts 09:00-20:00. The next allowed
moment is built on the local calendar, so a DST change moves it by the right hour in UTC.
Caps: at most one marketing text per 24 h and one marketing email per 16 h per customer (per
address for a guest), counting what is being sent or was sent.

The cap holds across sweeps on several nodes: a claim first takes a PostgreSQL transaction-level
advisory lock per marketing recipient it holds (`lock_recipients`, in one sorted order, so two
claims never wait on each other in a circle), and only then reads what was sent. A second sweep
that claimed another message for the same recipient waits for the first claim's commit, and its
cap query (a new statement under READ COMMITTED) then sees the first message `sending`.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from flask import current_app
from sqlalchemy import func, select

from notifications import formatting
from notifications.models import Message
from shop.core.extensions import db

QUIET_HOURS = {"transactional": (dt.time(8), dt.time(21)), "marketing": (dt.time(9), dt.time(20))}
MARKETING_CAPS = {"sms": dt.timedelta(hours=24), "email": dt.timedelta(hours=16)}


def recipient_zone(message: Message):
    return formatting.zone(message.timezone or (message.context or {}).get("store_timezone"),
                           current_app.config["SMS_DEFAULT_TIMEZONE"])


def quiet_until(message: Message, now: dt.datetime) -> dt.datetime | None:
    """The start of the next sending window if it is quiet hours for this text now; else None."""
    if message.channel != "sms":
        return None
    start, end = QUIET_HOURS[message.purpose]
    zone = recipient_zone(message)
    local = now.astimezone(zone)
    if start <= local.time() < end:
        return None
    day = local.date() if local.time() < start else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, start, tzinfo=zone).astimezone(dt.UTC)


def _recipient(message: Message) -> str:
    """Who a cap counts for: the customer, else the address (a guest)."""
    who = f"customer:{message.customer_id}" if message.customer_id is not None else f"to:{message.to_address}"
    return f"marketing-cap:{message.channel}:{who}"


def _lock_key(recipient: str) -> int:
    """A signed 64-bit advisory lock key (a collision only makes two recipients wait on each other)."""
    return int.from_bytes(hashlib.sha256(recipient.encode()).digest()[:8], "big", signed=True)


def lock_recipients(messages: list[Message]) -> None:
    """Serialise cap checks per marketing recipient across sweeps and nodes until this transaction ends.

    PostgreSQL only: SQLite has one writer at a time and serves one node."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({_lock_key(_recipient(m)) for m in messages if m.purpose == "marketing"})
    for key in keys:
        db.session.execute(select(func.pg_advisory_xact_lock(key)))


def cap_until(message: Message, now: dt.datetime) -> dt.datetime | None:
    """When this marketing message fits under its channel's cap, if it does not now; else None."""
    if message.purpose != "marketing" or (message.context or {}).get("test_send"):
        return None
    window = MARKETING_CAPS[message.channel]
    who = (Message.customer_id == message.customer_id if message.customer_id is not None
           else Message.to_address == message.to_address)
    last = db.session.scalar(
        select(func.max(func.coalesce(Message.sent_at, Message.updated_at)))
        .where(who, Message.channel == message.channel, Message.purpose == "marketing",
               Message.status.in_(("sending", "sent", "delivered")), Message.id != message.id))
    if last is None:
        return None
    if isinstance(last, str):  # SQLite hands an aggregate back untyped
        last = dt.datetime.fromisoformat(last)
    last = last if last.tzinfo else last.replace(tzinfo=dt.UTC)
    return last + window if last + window > now else None
