"""A lease row names the one holder of a role (the scheduler's leader) until it lapses.

Taking and renewing are one statement, `INSERT ... ON CONFLICT (name) DO UPDATE ... WHERE` the row
is ours or has lapsed: on PostgreSQL the conflicting row is locked and the WHERE is checked against
its latest version, so of any number of processes racing for a lapsed lease exactly one gets it.
A holder that stops renewing loses the lease when it lapses; one that stops cleanly releases it,
so a follower need not wait. Times come from `shop.core.clock` (tests freeze it); hosts sharing a
lease keep their clocks in sync (NTP) well within the renew interval.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket

from sqlalchemy import String, case, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from shop.core.clock import clock
from shop.core.extensions import UTCDateTime, db


class Lease(db.Model):
    """Who holds a named role, since when, and until when unless renewed."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


def holder_id() -> str:
    """host:pid:random, so an operator can find the process and a restarted pid is a new holder."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def acquire(name: str, holder: str, seconds: float, now: dt.datetime | None = None) -> dt.datetime | None:
    """Take the lease if it is free or lapsed, or renew it if `holder` has it; the new expiry, or
    None when someone else holds it. The caller commits (it is one statement either way)."""
    now = now or clock.now()
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(Lease).values(name=name, holder=holder, acquired_at=now,
                                expires_at=now + dt.timedelta(seconds=seconds))
    stmt = stmt.on_conflict_do_update(
        index_elements=[Lease.name],
        set_={
            "holder": stmt.excluded.holder,
            "expires_at": stmt.excluded.expires_at,
            "acquired_at": case((Lease.holder == stmt.excluded.holder, Lease.acquired_at),
                                else_=stmt.excluded.acquired_at),
        },
        where=or_(Lease.holder == holder, Lease.expires_at <= now),
    ).returning(Lease.expires_at)
    return db.session.execute(stmt).scalar()


def release(name: str, holder: str) -> bool:
    """Give the lease up (a clean shutdown) so a follower takes over at once; only its holder can."""
    return db.session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder)).rowcount > 0


def current(name: str, now: dt.datetime | None = None) -> Lease | None:
    """The lease as it stands, if it has not lapsed."""
    lease = db.session.scalar(select(Lease).where(Lease.name == name))
    return lease if lease is not None and lease.expires_at > (now or clock.now()) else None


def seconds_left(name: str, now: dt.datetime | None = None) -> float:
    """Seconds until the lease lapses (negative: it lapsed that long ago; 0: nobody took it). One
    primary-key read, for /metrics."""
    expires = db.session.scalar(select(Lease.expires_at).where(Lease.name == name))
    return 0.0 if expires is None else (expires - (now or clock.now())).total_seconds()
