"""The scheduler's lease, clock frozen: one holder at a time, renewed by its holder, taken over only once it lapses."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from shop.core import leases
from shop.core.clock import clock
from shop.core.extensions import db
from shop.core.transactions import transaction

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
LEASE = 30


@pytest.fixture
def at(monkeypatch):
    """Freeze the clock at T0; at(s) moves it to T0 + s seconds."""
    now = [T0]
    monkeypatch.setattr(clock, "now", lambda: now[0])

    def move(seconds: float) -> None:
        now[0] = T0 + dt.timedelta(seconds=seconds)

    return move


def take(holder: str) -> dt.datetime | None:
    with transaction():
        return leases.acquire("scheduler", holder, LEASE)


def leader() -> str | None:
    db.session.expire_all()
    lease = leases.current("scheduler")
    return lease and lease.holder


def after(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_the_first_taker_holds_it_and_the_others_wait_until_it_lapses(app, at):
    assert take("a") == after(LEASE)
    assert take("b") is None
    at(LEASE - 0.001)
    assert take("b") is None and leader() == "a"
    at(LEASE)  # lapsed: the next taker gets it
    assert take("b") == after(2 * LEASE)
    assert take("a") is None  # the old holder's renewal comes too late
    assert leader() == "b"
    assert leases.current("scheduler").acquired_at == after(LEASE)


def test_renewing_keeps_it_past_the_first_expiry(app, at):
    take("a")
    at(20)
    assert take("a") == after(20 + LEASE)
    at(LEASE + 5)  # would have lapsed without the renewal
    assert take("b") is None
    lease = leases.current("scheduler")
    assert (lease.holder, lease.acquired_at) == ("a", T0)  # a renewal is not a new stint
    at(20 + LEASE)
    assert leader() is None
    assert take("b") is not None and leader() == "b"


def test_released_it_is_free_at_once_and_only_its_holder_can_release_it(app, at):
    take("a")
    with transaction():
        assert leases.release("scheduler", "b") is False
    assert leader() == "a"
    with transaction():
        assert leases.release("scheduler", "a") is True
    assert leader() is None
    assert take("b") == after(LEASE)


def test_holder_ids_differ_between_processes_and_restarts():
    ids = {leases.holder_id() for _ in range(20)}
    assert len(ids) == 20
    host, pid, _ = leases.holder_id().rsplit(":", 2)
    assert host and int(pid) > 0


@pytest.mark.postgres
def test_of_many_racing_for_it_exactly_one_gets_it_every_time(app, wide_app, at):
    """Real threads, each its own connection, all at once: on a free lease, then on a lapsed one."""
    takers = 8
    for round_ in range(6):
        at(round_ * (LEASE + 1))  # every round finds the previous lease lapsed (the first finds none)
        barrier = threading.Barrier(takers)

        def race(n: int, round_=round_, barrier=barrier):
            with wide_app.app_context():
                barrier.wait()
                return take(f"taker-{round_}-{n}")

        with ThreadPoolExecutor(max_workers=takers) as pool:
            results = list(pool.map(race, range(takers)))
        winners = [n for n, expires in enumerate(results) if expires is not None]
        assert len(winners) == 1, results
        assert leader() == f"taker-{round_}-{winners[0]}"
