"""Three real `flask scheduler run` processes on PostgreSQL: one leads, each sweep fires once per
interval in total, and when the leader is killed another takes over within two lease periods."""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest
from sqlalchemy import text

from shop.core.extensions import db
from tests.support.scheduler_probe import CREATE_FIRINGS, FIRINGS, PROBES, logs, schedulers

pytestmark = pytest.mark.postgres

LEASE, RENEW = 3, 1
WATCH = 12  # seconds of one leader before it is killed
REAL_SWEEPS = {"release_expired_holds", "expire_unpaid", "expire_no_shows", "send_reminders", "retry_voids"}
SETTINGS = {"SCHEDULER_LEASE_SECONDS": LEASE, "SCHEDULER_RENEW_SECONDS": RENEW, "HOLDS_SWEEP_SECONDS": 3,
            "UNPAID_SWEEP_SECONDS": 3, "NO_SHOWS_SWEEP_SECONDS": 3, "REMINDERS_SWEEP_SECONDS": 3,
            "VOIDS_SWEEP_SECONDS": 3}


@pytest.fixture
def firings(app):
    db.session.execute(text(CREATE_FIRINGS))
    db.session.commit()
    yield
    db.session.rollback()
    db.session.execute(text(f"DROP TABLE {FIRINGS}"))
    db.session.commit()


def lease() -> tuple[int, float, float] | None:
    """(pid, acquired_at, expires_at) of the scheduler lease as the database has it, lapsed or not."""
    row = db.session.execute(text("SELECT holder, extract(epoch FROM acquired_at), extract(epoch FROM expires_at) "
                                  "FROM scheduler_leases WHERE name = 'scheduler'")).first()
    db.session.rollback()  # the next read sees what was committed since
    return row and (int(row[0].split(":")[-2]), float(row[1]), float(row[2]))


def leader(other_than: int | None = None) -> tuple[int, float] | None:
    """(pid, since) of a live leader, if there is one (and it is not `other_than`)."""
    now = time.time()
    held = lease()
    if held is None or held[2] <= now or held[0] == other_than:
        return None
    return held[0], held[1]


def fired() -> list[tuple[str, int, int, float]]:
    rows = db.session.execute(text(f"SELECT sweep, slot, pid, extract(epoch FROM fired_at) FROM {FIRINGS} "
                                   "ORDER BY fired_at")).all()
    db.session.rollback()
    return [(sweep, slot, pid, float(at)) for sweep, slot, pid, at in rows]


def wait_for(what: str, probe, timeout: float, workdir):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    pytest.fail(f"no {what} within {timeout} s\n{logs(workdir)}")


def test_one_leader_fires_each_sweep_once_per_interval_and_another_takes_over(app, firings, database_url,
                                                                               tmp_path):
    with schedulers(3, database_url, tmp_path, **SETTINGS) as procs:
        by_pid = {proc.pid: proc for proc in procs}
        wait_for("three started schedulers", lambda: all(
            "started" in (tmp_path / f"scheduler-{n}.log").read_text() for n in range(3)), 120, tmp_path)
        first, first_since = wait_for("leader", leader, 30, tmp_path)
        assert first in by_pid
        watch_from = time.time()
        time.sleep(WATCH)

        by_pid[first].send_signal(signal.SIGKILL)  # no chance to release: the lease must lapse
        killed_at = time.time()
        by_pid[first].wait(timeout=30)
        watched = [f for f in fired() if f[3] <= killed_at]
        assert {pid for _, _, pid, _ in watched} == {first}, logs(tmp_path)  # the followers never fired
        assert lease()[1] == first_since  # one stint: renewed all along, never lost
        for name, seconds in PROBES.items():
            count = sum(1 for sweep, _, _, at in watched if sweep == name and at >= watch_from)
            intervals = (killed_at - watch_from) / seconds
            assert intervals / 2 <= count <= intervals + 1, (name, count, intervals)

        second, taken_at = wait_for("new leader", lambda: leader(other_than=first), 30, tmp_path)
        assert second in by_pid and taken_at - killed_at <= 2 * LEASE
        wait_for("firing by the new leader", lambda: any(
            pid == second and sweep == "probe_fast" for sweep, _, pid, _ in fired()), 10, tmp_path)

        by_pid[second].send_signal(signal.SIGTERM)  # a clean stop: the lease is released, not left to lapse
        assert by_pid[second].wait(timeout=30) == 0
        held = lease()
        assert held is None or held[0] != second
        third, _ = wait_for("third leader", lambda: leader(other_than=second), 30, tmp_path)
        assert third not in (first, second)
        wait_for("firing by the third leader", lambda: any(
            pid == third and sweep == "probe_fast" for sweep, _, pid, _ in fired()), 10, tmp_path)
        output = logs(tmp_path, tail=None)

    everything = fired()
    for name in PROBES:
        slots = Counter(slot for sweep, slot, _, _ in everything if sweep == name)
        assert max(slots.values()) == 1, (name, slots)  # no interval fired twice, takeovers included
    leaders_in_order = [pid for pid, _ in Counter(pid for _, _, pid, _ in everything).items()]
    assert leaders_in_order == [first, second, third]
    pids_in_order = [pid for _, _, pid, _ in everything]
    assert pids_in_order == sorted(pids_in_order, key=leaders_in_order.index)  # never two leaders interleaved
    for name in REAL_SWEEPS:
        assert f"sweep {name}: 0 rows" in output
    assert "failed" not in output, output
