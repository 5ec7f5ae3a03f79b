"""An outage is told in a few log lines, whatever the number of failing requests, and is ended by
the prober once the dependency answers again."""

from __future__ import annotations

import logging
import threading

from shop.core.outages import Outage


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def outage(clock: Clock, retry: float = 1.0) -> Outage:
    return Outage(logging.getLogger("test.outage"), "database", log_interval=30, retry_interval=retry, clock=clock)


def failure() -> Exception:
    try:
        raise ConnectionRefusedError("connection refused\nsecond line")
    except ConnectionRefusedError as exc:
        return exc


def test_a_thousand_failures_make_one_traceback_and_a_count_every_interval(caplog):
    clock = Clock()
    state = outage(clock)
    with caplog.at_level(logging.INFO, logger="test.outage"):
        for _ in range(1000):  # 1000 failing requests over 61 s
            state.failed(failure())
            clock.now += 0.061
    records = caplog.records
    assert [r.levelname for r in records] == ["ERROR", "WARNING", "WARNING"]
    assert records[0].getMessage() == "database unreachable: ConnectionRefusedError: connection refused"
    assert records[0].exc_info is not None
    assert all(r.exc_info is None for r in records[1:])
    assert "still unreachable" in records[1].getMessage() and "since it began" in records[2].getMessage()
    assert state.ongoing


def test_the_end_of_an_outage_is_one_line_and_a_new_outage_starts_afresh(caplog):
    clock = Clock()
    state = outage(clock)
    with caplog.at_level(logging.INFO, logger="test.outage"):
        state.recovered()  # nothing was wrong: nothing to say
        for _ in range(5):
            state.failed(failure())
        clock.now += 12.5
        state.recovered()
        state.recovered()
        state.failed(failure())
    messages = [r.getMessage() for r in caplog.records]
    assert messages[1] == "database reachable again after 12.5 s and 5 failures"
    assert len(messages) == 3 and messages[2].startswith("database unreachable")


def test_the_prober_ends_the_outage_when_an_attempt_gets_through(caplog):
    state = outage(Clock(), retry=0.01)
    attempts, done = [], threading.Event()

    def attempt() -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionRefusedError("still down")
        done.set()

    state.probe(attempt)  # no outage: nothing to probe
    assert not attempts
    with caplog.at_level(logging.INFO, logger="test.outage"):
        state.failed(failure())
        state.probe(attempt)
        state.probe(attempt)  # one prober per process, however many requests ask
        assert done.wait(timeout=30)
        for _ in range(3000):  # the prober writes its line just after the outage ends
            if caplog.records[-1].getMessage().startswith("database reachable again"):
                break
            threading.Event().wait(0.01)
    assert not state.ongoing and len(attempts) == 3
    assert [r.levelname for r in caplog.records] == ["ERROR", "WARNING"]
