"""Opening hours in the store's own time zone: past midnight, closed days, exceptions, DST."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from stores.geo import distance_km
from stores.hours import is_valid_timezone, open_state


def store(tz="America/New_York", hours=None, exceptions=()):
    spans = hours if hours is not None else {d: ("09:00", "21:00") for d in range(6)}
    return SimpleNamespace(
        timezone=tz,
        hours=[SimpleNamespace(weekday=d, opens=dt.time.fromisoformat(o), closes=dt.time.fromisoformat(c))
               for d, (o, c) in spans.items()],
        exceptions=[SimpleNamespace(date=d, opens=o, closes=c) for d, o, c in exceptions],
    )


def at(tz, *args):
    return dt.datetime(*args, tzinfo=ZoneInfo(tz)).astimezone(dt.UTC)


def test_open_in_local_time_not_utc():
    s = store()
    # 10:00 in New York on a Tuesday is 15:00 UTC.
    state = open_state(s, at("America/New_York", 2026, 11, 24, 10, 0))
    assert state.is_open_now
    assert state.closes_at == dt.datetime(2026, 11, 24, 21, 0, tzinfo=ZoneInfo("America/New_York"))
    # 22:00 in New York is closed; it opens at 09:00 the next day.
    late = open_state(s, at("America/New_York", 2026, 11, 24, 22, 0))
    assert not late.is_open_now
    assert late.opens_at.replace(tzinfo=None) == dt.datetime(2026, 11, 25, 9, 0)


def test_sunday_closed_opens_monday():
    state = open_state(store(), at("America/New_York", 2026, 11, 29, 12, 0))  # a Sunday
    assert not state.is_open_now
    assert state.opens_at.replace(tzinfo=None) == dt.datetime(2026, 11, 30, 9, 0)


def test_open_past_midnight_counts_on_the_next_day():
    s = store("America/Los_Angeles", {d: ("10:00", "01:00") for d in range(7)})
    state = open_state(s, at("America/Los_Angeles", 2026, 11, 25, 0, 30))
    assert state.is_open_now
    assert state.closes_at.replace(tzinfo=None) == dt.datetime(2026, 11, 25, 1, 0)
    assert state.opens_at.replace(tzinfo=None) == dt.datetime(2026, 11, 24, 10, 0)
    closed = open_state(s, at("America/Los_Angeles", 2026, 11, 25, 1, 30))
    assert not closed.is_open_now and closed.opens_at.hour == 10


def test_holiday_closure_and_special_hours():
    thanksgiving = dt.date(2026, 11, 26)
    s = store(exceptions=[(thanksgiving, None, None),
                          (dt.date(2026, 11, 27), dt.time(6), dt.time(23))])
    closed = open_state(s, at("America/New_York", 2026, 11, 26, 12, 0))
    assert not closed.is_open_now
    assert closed.opens_at.replace(tzinfo=None) == dt.datetime(2026, 11, 27, 6, 0)
    assert closed.closes_at.hour == 23


def test_daylight_saving_change_keeps_local_hours():
    s = store("Europe/Berlin", {d: ("09:00", "18:00") for d in range(7)})
    # Sunday 29 March 2026: Berlin moves from UTC+1 to UTC+2 at 02:00.
    before = open_state(s, dt.datetime(2026, 3, 28, 8, 30, tzinfo=dt.UTC))  # 09:30 local
    after = open_state(s, dt.datetime(2026, 3, 29, 7, 30, tzinfo=dt.UTC))   # 09:30 local (UTC+2)
    assert before.is_open_now and after.is_open_now
    assert after.opens_at.utcoffset() == dt.timedelta(hours=2)
    # 07:30 UTC on the 28th is 08:30 local: still closed; the same UTC on the 29th is open.
    assert not open_state(s, dt.datetime(2026, 3, 28, 7, 30, tzinfo=dt.UTC)).is_open_now


def test_overnight_span_across_fall_back_is_one_hour_longer():
    s = store("America/New_York", {d: ("20:00", "02:00") for d in range(7)})
    # Night of 31 Oct -> 1 Nov 2026: clocks go back at 02:00 (EDT -> EST).
    state = open_state(s, dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC))  # 01:30 EDT, first pass
    assert state.is_open_now
    length = state.closes_at.astimezone(dt.UTC) - state.opens_at.astimezone(dt.UTC)
    assert length == dt.timedelta(hours=7)


def test_no_hours_means_never_open():
    state = open_state(store(hours={}), dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert state == (False, None, None) or (not state.is_open_now and state.opens_at is None)


def test_time_zone_names_are_checked():
    assert is_valid_timezone("Asia/Tokyo")
    assert not is_valid_timezone("Mars/Olympus")
    assert not is_valid_timezone("../../etc/passwd")


def test_great_circle_distance():
    # New York to Chicago is about 1,145 km.
    assert 1140 < distance_km(40.7128, -74.0060, 41.8781, -87.6298) < 1150
    assert distance_km(10, 10, 10, 10) == 0
