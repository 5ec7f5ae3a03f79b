"""A backlog of outbox rows big enough for real plans, written by PostgreSQL itself.

Used by the claim's plan test (tests/integration/test_outbox_plan.py) and by `make bench` (the
outbox scenario). Each row is an `email_verification` mail to its own guest address, so the
re-check lets it through and it renders, as the receiver would have queued it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from shop.core.extensions import db


def seed_messages(count: int, due_at: dt.datetime, *, status: str = "queued", tag: str = "backlog") -> None:
    """`count` messages in `status`, due at `due_at`; `tag` keeps their dedupe keys apart from another batch's."""
    sent = status in ("sent", "delivered")
    db.session.execute(text(
        "INSERT INTO messages (dedupe_key, template, channel, purpose, locale, to_address, context, status, "
        "attempts, due_at, sent_at, created_at, updated_at) "
        "SELECT 'email_verification' || :sep || :tag || '-' || g || :sep || 'email', 'email_verification', "
        "'email', 'transactional', 'en', :tag || '-' || g || '@example.com', "
        "CAST(json_build_object('token', 'token-' || g, 'email', :tag || '-' || g || '@example.com') AS json), "
        ":status, :attempts, :due_at, :sent_at, :due_at, :due_at "
        "FROM generate_series(1, :n) AS g"),
        {"n": count, "sep": ":", "tag": tag, "status": status, "attempts": int(sent), "due_at": due_at,
         "sent_at": due_at if sent else None})
