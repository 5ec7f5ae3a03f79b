"""Store-local time: opening periods from weekly hours and dated exceptions, in the store's IANA zone.

A span whose closing time is at or before its opening time runs past midnight. Times are combined
with the date in the store's zone through zoneinfo, so a daylight-saving change moves the UTC
instants, never the local opening times.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

LOOKAHEAD_DAYS = 14


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_valid_timezone(name: str) -> bool:
    return name in _zones()


@dataclass(frozen=True)
class Period:
    """One opening period as aware datetimes in the store's zone."""

    opens: dt.datetime
    closes: dt.datetime

    def contains(self, instant: dt.datetime) -> bool:
        # Compare in UTC: Python compares two datetimes of the same zone by wall time, which is
        # wrong across a daylight-saving change.
        return _utc(self.opens) <= _utc(instant) < _utc(self.closes)

    def starts_after(self, instant: dt.datetime) -> bool:
        return _utc(self.opens) > _utc(instant)


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


def _span(day: dt.date, opens: dt.time, closes: dt.time, zone: ZoneInfo) -> Period:
    end_day = day if closes > opens else day + dt.timedelta(days=1)
    return Period(
        dt.datetime.combine(day, opens, tzinfo=zone), dt.datetime.combine(end_day, closes, tzinfo=zone)
    )


def periods(store, start: dt.date, days: int) -> list[Period]:
    """Opening periods that start on the local dates [start, start + days), in order."""
    zone = ZoneInfo(store.timezone)
    weekly = {h.weekday: h for h in store.hours}
    exceptions = {e.date: e for e in store.exceptions}
    result = []
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        if day in exceptions:
            exc = exceptions[day]
            if exc.opens is not None and exc.closes is not None:
                result.append(_span(day, exc.opens, exc.closes, zone))
        elif day.weekday() in weekly:
            hours = weekly[day.weekday()]
            result.append(_span(day, hours.opens, hours.closes, zone))
    return result


@dataclass(frozen=True)
class OpenState:
    is_open_now: bool
    opens_at: dt.datetime | None
    closes_at: dt.datetime | None


def open_state(store, now: dt.datetime) -> OpenState:
    """Open now? If so, the current period; if not, the next one (None if none within two weeks)."""
    local_now = now.astimezone(ZoneInfo(store.timezone))
    # Start a day early: yesterday's span may run past midnight into today.
    for period in periods(store, local_now.date() - dt.timedelta(days=1), LOOKAHEAD_DAYS + 1):
        if period.contains(local_now):
            return OpenState(True, period.opens, period.closes)
        if period.starts_after(local_now):
            return OpenState(False, period.opens, period.closes)
    return OpenState(False, None, None)

