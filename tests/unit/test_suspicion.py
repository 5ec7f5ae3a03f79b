"""A wait on the database that goes quiet asks a probe once, at the suspect point and not before: no
answer ends the wait (ServerSilent), an answer lets it go on; off, nothing is ever asked. The clock is
the test's; the probe runs on its thread, and a silent one is an attempt that never returns."""

from __future__ import annotations

import threading

import psycopg
import pytest

from shop.core.suspicion import ServerSilent, Suspicion

QUIET, DATA = 0, 1  # psycopg's Ready.NONE (a 0.1 s step with nothing to read) and Ready.R


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


class Attempts:
    """The probe's attempt: counts its calls; answers at once, fails as told, or never returns."""

    def __init__(self, silent: bool = False, error: Exception | None = None) -> None:
        self.calls, self.silent, self.error = 0, silent, error
        self.release = threading.Event()

    def __call__(self) -> None:
        self.calls += 1
        if self.silent:
            self.release.wait(30)  # released at the end of the test; no answer until then
            raise TimeoutError("no answer")
        if self.error is not None:
            raise self.error


@pytest.fixture
def clock() -> Clock:
    return Clock()


def suspicion(clock: Clock, after: float = 1.0, probe_timeout: float = 10.0) -> Suspicion:
    return Suspicion(after, probe_timeout, clock=clock)


def quiet_for(watch, clock: Clock, seconds: float) -> None:
    """The wait's 0.1 s steps with nothing from the server, for `seconds`."""
    for _ in range(round(seconds * 10)):
        clock.now += 0.1
        watch.heard(QUIET)


def test_the_probe_is_asked_at_the_suspect_point_not_before(clock):
    attempts = Attempts()
    watch = suspicion(clock).watch(attempts)
    quiet_for(watch, clock, 0.9)
    assert attempts.calls == 0
    quiet_for(watch, clock, 0.1)
    assert attempts.calls == 1 and watch.asked


def test_bytes_from_the_server_start_the_quiet_again(clock):
    attempts = Attempts()
    watch = suspicion(clock).watch(attempts)
    for _ in range(5):  # a long result, a little every 0.5 s: never quiet for a second
        quiet_for(watch, clock, 0.5)
        watch.heard(DATA)
    assert attempts.calls == 0


def test_a_server_that_answers_the_probe_is_slow_not_silent_and_the_wait_goes_on(clock):
    attempts = Attempts()
    watch = suspicion(clock).watch(attempts)
    quiet_for(watch, clock, 4.0)  # a pg_sleep(4): asked once at 1 s, then left to the answer limit
    watch.at_limit()
    assert attempts.calls == 1


def test_an_error_the_server_sends_is_an_answer(clock):
    attempts = Attempts(error=psycopg.errors.TooManyConnections("sorry, too many clients already"))
    watch = suspicion(clock).watch(attempts)
    quiet_for(watch, clock, 2.0)
    assert attempts.calls == 1


@pytest.mark.parametrize("attempts", [Attempts(silent=True), Attempts(error=ConnectionRefusedError("refused"))])
def test_a_probe_without_an_answer_ends_the_wait(clock, attempts):
    watch = suspicion(clock, probe_timeout=0.05).watch(attempts)
    try:
        quiet_for(watch, clock, 0.9)
        with pytest.raises(ServerSilent, match="no answer within 0.05 s"):
            quiet_for(watch, clock, 0.1)
    finally:
        attempts.release.set()
    assert attempts.calls == 1


def test_a_wait_reaching_its_limit_first_asks_then(clock):
    attempts = Attempts(silent=True)
    watch = suspicion(clock, after=1.0, probe_timeout=0.05).watch(attempts)
    quiet_for(watch, clock, 0.5)  # a ping: its limit is 0.5 s
    try:
        with pytest.raises(ServerSilent):
            watch.at_limit()
    finally:
        attempts.release.set()
    assert attempts.calls == 1


def test_waits_going_quiet_together_share_one_probe_and_a_silent_verdict_stops_new_connections(clock):
    shared = suspicion(clock, probe_timeout=0.05)
    attempts = Attempts(silent=True)
    watches = [shared.watch(attempts) for _ in range(20)]
    ended = 0
    try:
        for _ in range(9):  # twenty statements in flight when the packets stop
            clock.now += 0.1
            for watch in watches:
                watch.heard(QUIET)
        clock.now += 0.1
        for watch in watches:
            with pytest.raises(ServerSilent):
                watch.heard(QUIET)
            ended += 1
        assert (ended, attempts.calls) == (20, 1)
        clock.now += 0.05  # the probe has had its time and not answered
        assert shared.silent()
    finally:
        attempts.release.set()
    for thread in threading.enumerate():  # the probe's thread ends (no answer)...
        if thread.name == "database-suspicion-probe":
            thread.join(30)
    assert shared.silent()  # ...and its verdict is kept for one probe timeout
    clock.now += 0.06
    assert not shared.silent()


def test_an_alive_verdict_is_not_kept_for_long(clock):
    shared = suspicion(clock, probe_timeout=0.5)
    attempts = Attempts()
    quiet_for(shared.watch(attempts), clock, 1.0)
    assert not shared.silent()
    quiet_for(shared.watch(attempts), clock, 1.0)  # a second later: its own probe
    assert attempts.calls == 2


def test_off_nothing_is_watched(clock):
    assert suspicion(clock, after=0).watch(Attempts()) is None
