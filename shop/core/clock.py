"""The one source of "now" (aware UTC), so tests can freeze or move time."""

from __future__ import annotations

import datetime as dt


class Clock:
    """The one source of "now" (aware UTC), so tests can freeze or move time."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


clock = Clock()


def utcnow() -> dt.datetime:
    """Column default: now, by the one clock."""
    return clock.now()
