"""When a ready order's pickup reminder is due: "the day before", in the store's own calendar.

A deadline on local day D gets its reminder at PICKUP_REMINDER_LOCAL_TIME (10:00) store-local on
D-1, computed on the local calendar with zoneinfo, so a DST change between the two days moves the
UTC instant and not the wall-clock time. An order that became ready after that moment (a one-day
hold readied in the afternoon) gets it at the same local time on D instead, so it never arrives
minutes after the "ready" message; and no reminder at all if that too is past or not before the
deadline (the "ready" message already names the deadline).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app


def reminder_due_at(timezone: str, ready_at: dt.datetime, deadline: dt.datetime,
                    at: dt.time | None = None) -> dt.datetime | None:
    """The UTC instant the reminder is due, or None when no reminder makes sense."""
    at = at or dt.time.fromisoformat(current_app.config["PICKUP_REMINDER_LOCAL_TIME"])  # checked at start
    zone = ZoneInfo(timezone)
    last_day = deadline.astimezone(zone).date()
    for day in (last_day - dt.timedelta(days=1), last_day):
        due = dt.datetime.combine(day, at, tzinfo=zone).astimezone(dt.UTC)
        if ready_at <= due < deadline:
            return due
    return None
