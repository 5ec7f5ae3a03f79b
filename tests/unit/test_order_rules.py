"""The order state machine table and the pickup times, without a database."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from shop.accounts.actors import Actor
from shop.core.errors import DomainError
from shop.orders import queries as orders
from shop.orders import states as order_states

SHOPPER = Actor("customer", None, "web")
STAFF = Actor("staff", None, "store", 1)


def order(status):
    return SimpleNamespace(status=status)


@pytest.mark.parametrize("status, allowed", [
    ("pending_payment", ["authorize", "cancel", "expire"]),
    ("placed", ["cancel", "start_picking"]),
    ("picking", ["cancel", "ready"]),
    ("ready_for_pickup", ["cancel", "expire", "hand_over"]),
    ("picked_up", []),
    ("cancelled", []),
    ("expired", []),
])
def test_moves_allowed_from_each_status(status, allowed):
    assert order_states.allowed_from(status) == allowed


def test_who_may_make_each_move():
    assert order_states.can(order("placed"), "cancel", SHOPPER)
    assert not order_states.can(order("picking"), "cancel", SHOPPER)
    assert order_states.can(order("ready_for_pickup"), "cancel", STAFF)
    assert not order_states.can(order("placed"), "start_picking", SHOPPER)
    assert not order_states.can(order("pending_payment"), "authorize", STAFF)
    assert order_states.can(order("pending_payment"), "authorize", None)
    with pytest.raises(DomainError) as err:
        order_states.find_move(order("picked_up"), "cancel", STAFF)
    assert err.value.status == 409 and err.value.extra["status_now"] == "picked_up"


def store(hold_days=2, lead=60):
    hours = [SimpleNamespace(weekday=d, opens=dt.time(9), closes=dt.time(21)) for d in range(6)]
    return SimpleNamespace(timezone="America/New_York", hours=hours, exceptions=[], hold_days=hold_days,
                           prep_lead_minutes=lead)


NY = ZoneInfo("America/New_York")


def test_ready_by_moves_into_opening_hours():
    s = store()
    afternoon = dt.datetime(2026, 11, 24, 15, tzinfo=NY)
    assert orders.ready_by(s, afternoon) == afternoon + dt.timedelta(hours=1)
    night = dt.datetime(2026, 11, 24, 20, 30, tzinfo=NY)  # + 1 h = 21:30, closed: next morning 10:00
    assert orders.ready_by(s, night).astimezone(NY) == dt.datetime(2026, 11, 25, 10, tzinfo=NY)
    saturday_night = dt.datetime(2026, 11, 28, 22, tzinfo=NY)  # closed Sunday: Monday 10:00
    assert orders.ready_by(s, saturday_night).astimezone(NY) == dt.datetime(2026, 11, 30, 10, tzinfo=NY)


def test_pickup_deadline_is_closing_time_and_never_outlives_the_authorisation():
    s = store(hold_days=2)
    ready = dt.datetime(2026, 11, 24, 11, tzinfo=NY)
    assert orders.pickup_deadline(s, ready, None).astimezone(NY) == dt.datetime(2026, 11, 26, 21, tzinfo=NY)
    authorised = ready - dt.timedelta(days=6)
    capped = orders.pickup_deadline(s, ready, authorised)
    assert capped == authorised + dt.timedelta(days=7) - dt.timedelta(hours=12)
