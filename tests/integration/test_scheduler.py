"""`flask scheduler`: the sweeps each package registers, `run --once`, and who leads (in one process)."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from sqlalchemy import event, text

from inventory import reservations
from inventory.models import Reservation, Stock
from shop import app as shop_app
from shop.core import scheduler
from shop.core.clock import clock
from shop.core.extensions import db
from tests.support.app import make_app

SWEEPS = {"release_expired_holds", "expire_unpaid", "reconcile", "expire_no_shows", "send_reminders", "retry_voids",
          "find_abandoned_carts", "advance_campaigns", "deliver_outbox"}


@pytest.fixture
def other_app(app, database_url):
    """A second app on the test database, for sweeps of a test's own (the shared app stays as it is)."""
    other = make_app(database_url)
    yield other
    with other.app_context():
        db.engine.dispose()


def once(app_):
    with app_.app_context():  # the CLI runs on the app whose context is current
        return app_.test_cli_runner().invoke(args=["scheduler", "run", "--once"])


def reported(output: str) -> dict[str, int]:
    """{sweep: rows} from the lines `run --once` prints (the log lines on stderr are left out)."""
    return {m[2]: int(m[1]) for m in re.finditer(r"^ *(\d+) (\w+) \([\d.]+ s\)", output, re.M)}


def test_create_app_registers_every_sweep_and_starts_nothing(database_url):
    threads = {t.ident for t in threading.enumerate()}
    app_ = make_app(database_url, HOLDS_SWEEP_SECONDS=7)
    assert {t.ident for t in threading.enumerate()} == threads  # no scheduler thread in a web worker
    sweeps = scheduler.registered(app_)
    assert set(sweeps) >= SWEEPS
    assert sweeps["release_expired_holds"][0] == 7
    order = list(sweeps)  # --once runs them in this order: a lost capture is a handover, never a no-show
    assert order.index("reconcile") < order.index("expire_no_shows")
    # an abandoned cart is enrolled, its first step queued and sent in one --once
    assert order.index("find_abandoned_carts") < order.index("advance_campaigns") < order.index("deliver_outbox")
    with pytest.raises(ValueError, match="registered twice"):
        scheduler.register_sweep(app_, "expire_unpaid", 60, lambda: 0)
    with pytest.raises(ValueError, match="positive"):
        scheduler.register_sweep(app_, "never", 0, lambda: 0)


def test_run_once_runs_every_sweep_and_releases_an_expired_hold(app, shelf, monkeypatch):
    s, mug, _ = shelf
    an_hour_ago = clock.now() - dt.timedelta(hours=1)
    monkeypatch.setattr(clock, "now", lambda: an_hour_ago)
    hold = reservations.reserve(s.id, {mug: 2}, "staff:1", dt.timedelta(minutes=15))
    db.session.commit()
    monkeypatch.undo()  # now: the hold lapsed 45 minutes ago
    result = once(app)
    assert result.exit_code == 0, result.output
    lines = reported(result.output)
    assert set(lines) >= SWEEPS
    assert lines["release_expired_holds"] == 1
    db.session.expire_all()
    assert db.session.get(Reservation, hold.id).status == "expired"
    assert db.session.get(Stock, (s.id, mug.id)).reserved == 0
    assert reported(once(app).output)["release_expired_holds"] == 0


def test_expired_holds_are_released_a_batch_per_transaction_until_none_is_left(app, shelf, monkeypatch):
    """So the sweep never holds many stores' stock rows at once, however many holds lapsed."""
    s, mug, _ = shelf
    an_hour_ago = clock.now() - dt.timedelta(hours=1)
    with monkeypatch.context() as m:
        m.setattr(clock, "now", lambda: an_hour_ago)
        holds = [reservations.reserve(s.id, {mug: 1}, f"staff:{i}", dt.timedelta(minutes=15))
                 for i in range(5)]
        db.session.commit()
    monkeypatch.setattr(shop_app, "HOLDS_BATCH", 2)
    commits: list[object] = []

    def count(connection):
        commits.append(connection)

    event.listen(db.engine, "commit", count)
    try:
        result = once(app)
    finally:
        event.remove(db.engine, "commit", count)
    assert result.exit_code == 0, result.output
    assert reported(result.output)["release_expired_holds"] == 5
    db.session.expire_all()
    assert {db.session.get(Reservation, hold.id).status for hold in holds} == {"expired"}
    assert len(commits) >= 3  # 2 + 2 + 1: a transaction per batch


def test_a_failing_sweep_is_reported_keeps_nothing_and_the_others_still_run(other_app):
    """Also: a sweep may tell its rows by outcome (the outbox's delivery does)."""
    with other_app.app_context():
        db.session.execute(text("CREATE TABLE sweep_marks (name VARCHAR(20))"))
        db.session.commit()
    try:
        def mark(name: str) -> int:
            db.session.execute(text("INSERT INTO sweep_marks VALUES (:n)"), {"n": name})
            return 1

        def broken() -> int:
            mark("broken")  # written, then the sweep fails: its one transaction is rolled back
            raise RuntimeError("the sweep broke")

        scheduler.register_sweep(other_app, "a_broken_one", 60, scheduler.one_transaction(broken))
        scheduler.register_sweep(other_app, "a_later_one", 60, scheduler.one_transaction(lambda: mark("later")))
        scheduler.register_sweep(other_app, "by_outcome", 60, lambda: {"sent": 2, "held": 1})
        result = once(other_app)
        assert result.exit_code == 1
        assert "FAILED a_broken_one: RuntimeError: the sweep broke" in result.output
        assert "1 sweep(s) failed: a_broken_one." in result.output
        assert set(reported(result.output)) >= SWEEPS | {"a_later_one"}
        assert re.search(r"^ +3 by_outcome \([\d.]+ s\) sent=2 held=1$", result.output, re.M)
        with other_app.app_context():
            assert db.session.scalars(text("SELECT name FROM sweep_marks")).all() == ["later"]
    finally:
        with other_app.app_context():
            db.session.execute(text("DROP TABLE sweep_marks"))
            db.session.commit()


def test_one_process_leads_and_a_clean_stop_hands_over_at_once(app):
    first = scheduler.Leader(app, lease_seconds=30, renew_seconds=10)
    second = scheduler.Leader(app, lease_seconds=30, renew_seconds=10)
    assert not first.leading() and not first.may_fire(1)
    first.renew()
    second.renew()
    assert first.leading() and not second.leading()
    assert not second.may_fire(1)
    first.resign()  # no waiting for the lease to lapse
    second.renew()
    assert second.leading() and not first.leading()
    first.renew()
    assert not first.leading()


def test_a_new_leader_leaves_alone_the_interval_that_began_before_it_led(app, monkeypatch):
    now = [1_000_000.5]
    monkeypatch.setattr(scheduler.time, "time", lambda: now[0])
    leader = scheduler.Leader(app, lease_seconds=30, renew_seconds=10)
    leader.renew()  # took the lease half-way through the interval [1_000_000, 1_000_001)
    assert leader.leading() and not leader.may_fire(1)  # the old leader may have run this one
    now[0] = 1_000_001.0
    assert leader.may_fire(1)
    assert not leader.may_fire(60)  # this minute began before it led


@pytest.mark.parametrize("lease, renew", [(10, 6), (10, 0)])
def test_a_lease_shorter_than_two_renewals_is_refused_before_anything_starts(database_url, lease, renew):
    bad = make_app(database_url, SCHEDULER_LEASE_SECONDS=lease, SCHEDULER_RENEW_SECONDS=renew)
    result = bad.test_cli_runner().invoke(args=["scheduler", "run"])
    assert result.exit_code == 2
    assert "SCHEDULER_LEASE_SECONDS" in result.output and "twice SCHEDULER_RENEW_SECONDS" in result.output
