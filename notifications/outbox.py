"""enqueue(): a message joins the caller's transaction, so it is sent if and only if the change commits.

A repeated dedupe key adds nothing (INSERT ... ON CONFLICT DO NOTHING on the unique key), so a
signal sent twice, a webhook redelivered or two requests racing still make one message.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.dialects import postgresql, sqlite

from notifications.models import CHANNELS, PURPOSES, Message
from shop.core import appends
from shop.core.clock import clock
from shop.core.extensions import db
from shop.core.plans import prepared

LOCALES = ("en", "fr")


def _insert(insert):
    """The outbox's INSERT, built once per dialect (building and compiling it on every call cost
    about as much as running it): values come as parameters, None written as NULL (`render_nulls`)
    so every call is the same statement, and the new row comes back as a Message."""
    return (insert(Message).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(Message)
            .execution_options(render_nulls=True))


_INSERTS = {"postgresql": _insert(postgresql.insert), "sqlite": _insert(sqlite.insert)}
# The same INSERT for `later`, nothing returned: it may be sent with other writes (shop.core.appends).
_LATER = {name: make(Message.__table__).on_conflict_do_nothing(index_elements=["dedupe_key"])
          for name, make in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))}


def locale_of(value: str | None) -> str:
    """The supported locale nearest to what we know of the recipient ("fr-CA" -> "fr"), else en."""
    base = (value or "").replace("_", "-").split("-")[0].lower()
    return base if base in LOCALES else "en"


def enqueue(*, template: str, channel: str, purpose: str, to: str, dedupe_key: str, context: dict,
            customer_id: int | None = None, order_id: int | None = None, cart_id: str | None = None,
            store_id: int | None = None, locale: str = "en", timezone: str | None = None,
            due_at: dt.datetime | None = None, later: bool = False) -> Message | None:
    """Add a message to the current session; None when this dedupe key is already in the outbox.
    `later`: the caller does not read the row, so it may be written with the open
    `appends.together()` block's other writes (and None is returned)."""
    if channel not in CHANNELS or purpose not in PURPOSES:
        raise ValueError(f"unknown channel or purpose: {channel!r}, {purpose!r}")
    now = clock.now()
    values = {
        "dedupe_key": dedupe_key[:200], "template": template, "channel": channel, "purpose": purpose,
        "locale": locale_of(locale), "to_address": to, "customer_id": customer_id, "order_id": order_id,
        "cart_id": cart_id, "store_id": store_id, "timezone": timezone, "context": context,
        "status": "queued", "attempts": 0, "due_at": due_at or now, "created_at": now, "updated_at": now,
    }
    dialect = db.session.get_bind().dialect.name
    with prepared(db.session):  # an INSERT on its unique key: nothing in its plan can go stale
        if later:
            appends.write(_LATER[dialect], values)
            return None
        return db.session.scalar(_INSERTS[dialect], values)
