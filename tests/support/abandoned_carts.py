"""Carts at scale on PostgreSQL (generate_series), for the abandonment plan test and the bench.

`seed_carts(total, idle, ...)`: `idle` carts went quiet two hours ago (or from `idle_since`, one after
another over `spread`: the cluster's soak has them go idle while it runs) with a line and an email
whose owner agreed to offers (what the sweep signals and a campaign enrols); of the rest, a third
are active and busy (changed a minute ago), a third were already looked at in their idle spell
(`abandoned_at` set), a third were ordered long ago.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from shop.core import database
from shop.core.extensions import db

_CARTS = text("""
INSERT INTO carts (id, status, pickup_store_id, email, version, channel, notes, created_at, last_activity_at,
                   abandoned_at)
SELECT :tag || '-' || g,
       CASE WHEN g > :idle AND g % 3 = 2 THEN 'converted' ELSE 'active' END,
       :store_id, :tag || '-' || g || '@example.com', 1, 'web', '[]', :old,
       CASE WHEN g <= :idle THEN :idle_since + :spread * g / :idle WHEN g % 3 = 0 THEN :busy_since ELSE :old END,
       CASE WHEN g > :idle AND g % 3 = 1 THEN :old END
FROM generate_series(1, :total) AS g
""")
_LINES = text("""
INSERT INTO cart_lines (cart_id, product_id, quantity, unit_price_at_add, added_at)
SELECT :tag || '-' || g, :product_id, 1, 1000, :idle_since FROM generate_series(1, :idle) AS g
""")
_CONSENT = text("""
INSERT INTO consent_records (address, channel, purpose, state, source, wording, reference, occurred_at)
SELECT :tag || '-' || g || '@example.com', 'email', 'marketing', 'granted', 'web', 'Offers by email (seed).', '',
       :old
FROM generate_series(1, :idle) AS g
""")


def seed_carts(total: int, idle: int, store_id: int, product_id: int, now: dt.datetime, tag: str = "seed",
               idle_since: dt.datetime | None = None, spread: dt.timedelta = dt.timedelta(0)) -> None:
    """Committed on a connection of its own, without the statement and answer limits, then analysed."""
    params = {"tag": tag, "total": total, "idle": idle, "store_id": store_id, "product_id": product_id,
              "old": now - dt.timedelta(days=30), "idle_since": idle_since or now - dt.timedelta(hours=2),
              "spread": spread,
              "busy_since": now - dt.timedelta(minutes=1)}
    with db.engine.connect() as conn, database.unlimited(conn):  # a million rows outlast the timeouts
        for statement in (_CARTS, _LINES, _CONSENT):
            conn.execute(statement, params)
        conn.execute(text("ANALYZE carts, cart_lines, consent_records"))
        conn.commit()
