"""When a pickup reminder is due (shop.orders.reminders), computed on the store's local calendar."""

import datetime as dt
from zoneinfo import ZoneInfo

from shop.orders.reminders import reminder_due_at

TEN = dt.time(10)
NY = ZoneInfo("America/New_York")


def _ny(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=NY)


def test_the_day_before_at_ten_local():
    assert reminder_due_at("America/New_York", _ny(2026, 11, 24, 10), _ny(2026, 11, 26, 21), TEN) == _ny(2026, 11, 25, 10)


def test_a_deadline_early_in_the_morning_still_means_the_day_before():
    assert reminder_due_at("America/New_York", _ny(2026, 11, 24, 10), _ny(2026, 11, 26, 0, 30), TEN) == _ny(2026, 11, 25, 10)


def test_readied_too_late_for_the_day_before_then_the_last_morning_then_none():
    assert reminder_due_at("America/New_York", _ny(2026, 11, 25, 15), _ny(2026, 11, 26, 21), TEN) == _ny(2026, 11, 26, 10)
    assert reminder_due_at("America/New_York", _ny(2026, 11, 26, 11), _ny(2026, 11, 26, 21), TEN) is None
    assert reminder_due_at("America/New_York", _ny(2026, 11, 25, 15), _ny(2026, 11, 26, 9), TEN) is None


def test_across_both_dst_changes_the_utc_instant_moves_not_the_wall_clock():
    spring = reminder_due_at("America/New_York", _ny(2026, 3, 7, 11), _ny(2026, 3, 9, 21), TEN)
    assert spring == dt.datetime(2026, 3, 8, 14, tzinfo=dt.UTC)
    paris = ZoneInfo("Europe/Paris")
    autumn = reminder_due_at("Europe/Paris", dt.datetime(2026, 10, 24, 12, tzinfo=paris),
                             dt.datetime(2026, 10, 26, 21, tzinfo=paris), TEN)
    assert autumn == dt.datetime(2026, 10, 25, 9, tzinfo=dt.UTC)
