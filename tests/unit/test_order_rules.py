"""The order state machine and the pickup times, without a database."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from shop.accounts.actors import Actor
from shop.core.errors import DomainError
from shop.core.limits import AUTHORIZATION_LIFETIME, AUTHORIZATION_MARGIN, MAX_HOLD_DAYS
from shop.orders import queries as orders
from shop.orders import states as order_states
from shop.orders.models import ORDER_STATUSES

SHOPPER = Actor("customer", None, "web")
STAFF = Actor("staff", None, "store", 1)


def order(status):
    return SimpleNamespace(status=status)


SYSTEM = None
ACTORS = (SHOPPER, STAFF, SYSTEM)
ACTIONS = sorted(order_states.MOVES)
STATUSES = sorted(ORDER_STATUSES)


def _outcome(status, action, actor):
    """What a caller is told: the status it moves to, or the refusal's HTTP status."""
    try:
        return order_states.find_move(order(status), action, actor).target
    except DomainError as err:
        return err.status


@pytest.mark.parametrize("status", STATUSES)
def test_what_a_refusal_calls_allowed_is_exactly_what_someone_may_do(status):
    # The 409 and 403 name `allowed` so a client knows its next step: each named move works for
    # some caller, and every move it leaves out is a 409 for everyone.
    allowed = set(order_states.allowed_from(status))
    for action in ACTIONS:
        outcomes = {_outcome(status, action, actor) for actor in ACTORS}
        movable = any(isinstance(o, str) for o in outcomes)
        assert movable == (action in allowed), (status, action, outcomes)
        if action not in allowed:
            assert outcomes == {409}
        for actor in ACTORS:
            assert order_states.can(order(status), action, actor) == isinstance(_outcome(status, action, actor), str)


@pytest.mark.parametrize("status", ["picked_up", "cancelled", "expired"])
def test_a_finished_order_never_moves_again(status):
    for action in ACTIONS:
        for actor in ACTORS:
            assert _outcome(status, action, actor) == 409
    assert order_states.allowed_from(status) == []


def test_an_order_goes_from_payment_to_handover_one_step_at_a_time():
    status = "pending_payment"
    for action, actor in [("authorize", SYSTEM), ("start_picking", STAFF), ("ready", STAFF), ("hand_over", STAFF)]:
        status = _outcome(status, action, actor)
    assert status == "picked_up"
    assert _outcome("placed", "hand_over", STAFF) == 409  # no skipping the counter's steps
    assert _outcome("placed", "cancel", SHOPPER) == "cancelled"
    assert _outcome("picking", "cancel", SHOPPER) == 403  # once picking starts, only the store cancels
    assert _outcome("ready_for_pickup", "expire", SYSTEM) == "expired"
    assert _outcome("ready_for_pickup", "expire", STAFF) == 403


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


def test_the_longest_hold_is_kept_whole_for_a_card_order_readied_within_half_a_day():
    # The store promises MAX_HOLD_DAYS to the closing time; the authorisation must not cut it short.
    s = store(hold_days=MAX_HOLD_DAYS)
    ready = dt.datetime(2026, 11, 23, 9, tzinfo=NY)  # a Monday morning: the hold ends on Saturday
    authorised = ready - dt.timedelta(hours=12)
    deadline = orders.pickup_deadline(s, ready, authorised)
    assert deadline.astimezone(NY) == dt.datetime(2026, 11, 23 + MAX_HOLD_DAYS, 21, tzinfo=NY)
    assert deadline < authorised + AUTHORIZATION_LIFETIME - AUTHORIZATION_MARGIN


def test_a_refusal_names_the_move_in_words():
    with pytest.raises(DomainError) as by_role:
        order_states.find_move(order("placed"), "start_picking", SHOPPER)
    assert by_role.value.detail == "A shopper may not start picking an order that is placed."
    with pytest.raises(DomainError) as out_of_turn:
        order_states.find_move(order("placed"), "hand_over", STAFF)
    assert out_of_turn.value.detail == "The order is placed: it cannot hand over."
