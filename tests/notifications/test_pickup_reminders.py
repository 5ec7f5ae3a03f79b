"""Pickup reminders go the day before the deadline in the store's own calendar (10:00 store-local),
once, right across daylight-saving changes; an order readied after that time hears on the last day."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from shop.core.extensions import db
from shop.orders import sweeps as order_sweeps
from shop.orders.models import Order
from tests.support import factories as f
from tests.support.messages import outbox
from tests.support.pickup import ready_order

NEW_YORK, PARIS = ZoneInfo("America/New_York"), ZoneInfo("Europe/Paris")


def _world_in(zone: str, hold_days: int) -> dict:
    store = f.store(code="PAR" if zone == "Europe/Paris" else "NYR", tz=zone, hold_days=hold_days)
    for sku in ("MUG", "TEA"):
        f.stock(store, f.product(sku=sku, price=500), 10)
    staff = f.bearer(f.user("staff", [store]))
    db.session.commit()
    return {"store": store, "staff": staff}


def _sweep_at(clock, when: dt.datetime) -> int:
    clock.set(when)
    done = order_sweeps.send_reminders()
    db.session.commit()
    return done


def _deadline(order_id: int) -> dt.datetime:
    db.session.expire_all()
    return db.session.get(Order, order_id).pickup_deadline


def test_the_reminder_goes_at_ten_the_day_before_when_clocks_spring_forward(client, app, frozen_clock):
    world = _world_in("America/New_York", hold_days=2)
    frozen_clock.set(dt.datetime(2026, 3, 7, 11, 0, tzinfo=NEW_YORK))  # Saturday, still EST
    order_id = ready_order(client, world)["order"]["id"]
    assert _deadline(order_id) == dt.datetime(2026, 3, 9, 21, 0, tzinfo=NEW_YORK)  # Monday, EDT

    # Sunday 8 March: the clocks went from 02:00 EST to 03:00 EDT; 10:00 EDT is 14:00 UTC (not 15:00).
    assert _sweep_at(frozen_clock, dt.datetime(2026, 3, 8, 9, 59, tzinfo=NEW_YORK)) == 0
    assert _sweep_at(frozen_clock, dt.datetime(2026, 3, 8, 14, 0, tzinfo=dt.UTC)) == 1
    assert _sweep_at(frozen_clock, dt.datetime(2026, 3, 8, 18, 0, tzinfo=NEW_YORK)) == 0
    assert _sweep_at(frozen_clock, dt.datetime(2026, 3, 9, 10, 0, tzinfo=NEW_YORK)) == 0  # sent once
    assert [m.channel for m in outbox(template="pickup_reminder")] == ["email"]


def test_the_reminder_goes_at_ten_store_time_when_clocks_fall_back_in_another_zone(client, app, frozen_clock):
    world = _world_in("Europe/Paris", hold_days=2)
    frozen_clock.set(dt.datetime(2026, 10, 24, 12, 0, tzinfo=PARIS))  # Saturday, CEST (UTC+2)
    order_id = ready_order(client, world)["order"]["id"]
    assert _deadline(order_id) == dt.datetime(2026, 10, 26, 21, 0, tzinfo=PARIS)  # Monday, CET (UTC+1)

    # Sunday 25 October, 10:00 in Paris is 09:00 UTC (CET); at 08:00 UTC it is 09:00 there.
    assert _sweep_at(frozen_clock, dt.datetime(2026, 10, 25, 8, 0, tzinfo=dt.UTC)) == 0
    assert _sweep_at(frozen_clock, dt.datetime(2026, 10, 25, 8, 59, tzinfo=dt.UTC)) == 0
    assert _sweep_at(frozen_clock, dt.datetime(2026, 10, 25, 10, 0, tzinfo=PARIS)) == 1
    assert _sweep_at(frozen_clock, dt.datetime(2026, 10, 26, 10, 0, tzinfo=PARIS)) == 0
    assert len(outbox(template="pickup_reminder")) == 1


def test_not_a_day_ahead_by_the_clock_but_by_the_calendar(client, app, frozen_clock):
    """A deadline at 21:00 on Thursday: the reminder goes Wednesday at 10:00, 35 hours before, not
    at 21:00 on Wednesday (24 hours before, in the evening)."""
    world = _world_in("America/New_York", hold_days=2)
    frozen_clock.set(dt.datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK))  # Tuesday
    ready_order(client, world)
    assert _sweep_at(frozen_clock, dt.datetime(2026, 11, 25, 9, 59, tzinfo=NEW_YORK)) == 0
    assert _sweep_at(frozen_clock, dt.datetime(2026, 11, 25, 10, 0, tzinfo=NEW_YORK)) == 1


def test_an_order_readied_after_ten_on_the_day_before_hears_on_the_morning_of_its_last_day(client, app, frozen_clock):
    world = _world_in("America/New_York", hold_days=1)
    frozen_clock.set(dt.datetime(2026, 11, 24, 15, 0, tzinfo=NEW_YORK))  # Tuesday afternoon
    order_id = ready_order(client, world)["order"]["id"]
    assert _deadline(order_id) == dt.datetime(2026, 11, 25, 21, 0, tzinfo=NEW_YORK)  # Wednesday

    assert _sweep_at(frozen_clock, dt.datetime(2026, 11, 24, 15, 1, tzinfo=NEW_YORK)) == 0  # not on top of "ready"
    assert _sweep_at(frozen_clock, dt.datetime(2026, 11, 25, 9, 59, tzinfo=NEW_YORK)) == 0
    assert _sweep_at(frozen_clock, dt.datetime(2026, 11, 25, 10, 0, tzinfo=NEW_YORK)) == 1
    assert _sweep_at(frozen_clock, dt.datetime(2026, 11, 25, 12, 0, tzinfo=NEW_YORK)) == 0


def test_the_local_time_is_a_setting(client, app, frozen_clock):
    app.config["PICKUP_REMINDER_LOCAL_TIME"] = "17:30"
    world = _world_in("America/New_York", hold_days=2)
    frozen_clock.set(dt.datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK))
    ready_order(client, world)
    assert _sweep_at(frozen_clock, dt.datetime(2026, 11, 25, 17, 29, tzinfo=NEW_YORK)) == 0
    assert _sweep_at(frozen_clock, dt.datetime(2026, 11, 25, 17, 30, tzinfo=NEW_YORK)) == 1
