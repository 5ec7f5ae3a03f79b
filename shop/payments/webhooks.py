"""Each provider event once: its id is claimed by an insert that skips a row already there.

A redelivery sent while the first delivery is still being processed waits on the unique key
until that commits, then finds the id taken and is answered as a duplicate; if the first rolled
back, the redelivery claims the id and processes the event itself.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shop.core.clock import clock
from shop.core.extensions import db
from shop.payments.models import WebhookEvent


def claim(event_id: str, type_: str) -> bool:
    """True if this delivery is the first of the event (and now owns it); False for a duplicate."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = WebhookEvent.__table__
    stmt = (insert(table).values(id=event_id, type=type_, received_at=clock.now())
            .on_conflict_do_nothing(index_elements=["id"]).returning(table.c.id))
    return db.session.execute(stmt).first() is not None
