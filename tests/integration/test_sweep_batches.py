"""The expiry sweep drains the backlog batch after batch, one transaction each, within a time budget."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from inventory import reservations
from inventory.models import Reservation
from shop.core import sweeps
from shop.core.clock import clock
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.big_catalog import seed_catalog, seed_holds
from tests.support.invariants import assert_stock_invariants


def _active() -> int:
    return db.session.scalar(select(func.count()).select_from(Reservation).where(Reservation.status == "active"))


@pytest.fixture
def seven_expired(app):
    shop = f.store()
    mug = f.product(sku="MUG")
    f.stock(shop, mug, 10)
    db.session.commit()
    for i in range(7):
        reservations.reserve(shop.id, {mug: 1}, f"order:{i}", dt.timedelta(minutes=1))
    db.session.commit()
    return shop, mug


def _batches_of(size: int, released: list[int], after_each=None):
    """The sweep's batch as the runner calls it (shop/app.py's release_expired_holds), counted."""
    def batch() -> int:
        released.append(reservations.release_expired(limit=size))
        if after_each:
            after_each()
        return released[-1]
    return batch


def test_the_sweep_goes_on_batch_after_batch_until_none_is_left(seven_expired, monkeypatch):
    later = clock.now() + dt.timedelta(minutes=5)
    monkeypatch.setattr(clock, "now", lambda: later)
    released: list[int] = []
    assert sweeps.repeat("release_expired_holds", _batches_of(3, released)) == 7
    assert released == [3, 3, 1, 0]  # each batch its own transaction: the runner commits it
    db.session.rollback()
    assert _active() == 0
    assert_stock_invariants()


def test_a_batch_takes_the_holds_that_lapsed_first(app, monkeypatch):
    """A backlog bigger than a batch is drained in the order the holds lapsed, not the order made."""
    shop = f.store()
    mug = f.product(sku="MUG")
    f.stock(shop, mug, 10)
    db.session.commit()
    holds = {minutes: reservations.reserve(shop.id, {mug: 1}, f"order:{minutes}", dt.timedelta(minutes=minutes))
             for minutes in (3, 1, 2)}
    db.session.commit()
    later = clock.now() + dt.timedelta(minutes=5)
    monkeypatch.setattr(clock, "now", lambda: later)
    order = []
    for _ in holds:
        assert reservations.release_expired(limit=1) == 1
        db.session.commit()
        order += [m for m, r in holds.items() if m not in order and db.session.get(Reservation, r.id).status != "active"]
    assert order == [1, 2, 3]
    assert_stock_invariants()


def test_the_sweep_stops_when_its_time_is_spent(seven_expired, monkeypatch):
    later = clock.now() + dt.timedelta(minutes=5)
    monkeypatch.setattr(clock, "now", lambda: later)
    elapsed = [0.0]  # the runner's clock, moved by the batch itself: a batch that takes the whole budget
    monkeypatch.setattr(sweeps, "time", SimpleNamespace(monotonic=lambda: elapsed[0], sleep=lambda _s: None))

    def spend_the_budget():
        elapsed[0] += sweeps.BUDGET_SECONDS

    released: list[int] = []
    assert sweeps.repeat("release_expired_holds", _batches_of(3, released, spend_the_budget)) == 3
    assert released == [3]  # the rest waits for the next run
    db.session.rollback()
    assert _active() == 4
    assert_stock_invariants()


@pytest.mark.postgres
def test_the_sweep_command_releases_a_backlog_bigger_than_one_batch(app):
    shop = f.store()
    db.session.commit()
    seed_catalog(300, [shop.id])
    seed_holds(shop.id, 1_234, 300, clock.now() - dt.timedelta(minutes=1))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["scheduler", "run", "--once"])
    assert result.exit_code == 0, result.output
    assert "1234" in result.output
    assert _active() == 0
    assert_stock_invariants()
