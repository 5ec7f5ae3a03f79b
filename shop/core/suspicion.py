"""Telling a silent database from a slow one in about a second and a half instead of the answer limit.

The answer limit (DB_ANSWER_TIMEOUT_SECONDS) must exceed the statement timeout, so a statement that is
merely slow is cancelled by the server, cleanly, and not cut by us: alone it makes a black-holed
database (packets dropped, nothing answers) a 6 s wait. So when a wait on the server has heard nothing
for DB_SUSPECT_AFTER_SECONDS (or reaches its own limit first), it asks a probe once: a FRESH
connection and `SELECT 1`, given DB_SUSPECT_PROBE_TIMEOUT_SECONDS. No answer in that time: the server,
or the way to it, is silent, and the wait ends now (ServerSilent, an outage like a refused
connection). An answer, even an error the server sends: it is alive and merely slow, and the wait
goes on to its limit. The caveat: a server too overloaded to accept a connection within the probe's
time is taken for silent (503 with Retry-After, which a client retries).

One verdict serves every thread of the process for a moment (a probe in flight is joined, a finished
one's verdict kept for the probe's timeout), so a hundred waits going quiet together make one probe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from typing import Any

import psycopg


class ServerSilent(psycopg.OperationalError):
    """A wait on the server heard nothing, and a fresh connection got no answer either: the server
    is silent, not slow. The connection waiting was closed (it is mid-statement)."""


class _Probe:
    """One probe on a thread of its own: `attempt()` returning (or failing with the server's own
    SQLSTATE) within `timeout` of `started` means the server answers."""

    def __init__(self, attempt: Callable[[], None], started: float, timeout: float,
                 clock: Callable[[], float]) -> None:
        self.started, self.timeout, self._clock = started, timeout, clock
        self.ended: float | None = None
        self.answered = False
        self._done = threading.Event()
        threading.Thread(target=self._run, args=(attempt,), daemon=True, name="database-suspicion-probe").start()

    def _run(self, attempt: Callable[[], None]) -> None:
        try:
            attempt()
            spoke = True
        except psycopg.Error as error:  # the server refusing us (too many clients, shutting down) still speaks
            spoke = error.sqlstate is not None
        except Exception:  # a refused or timed-out connection: no answer
            spoke = False
        ended = self._clock()
        self.answered = spoke and ended - self.started <= self.timeout
        self.ended = ended  # after `answered`: a reader seeing it ended sees its verdict
        self._done.set()

    def verdict(self) -> bool:
        """Whether the server answered: waits for the probe at most until its timeout is up."""
        self._done.wait(max(0.0, self.started + self.timeout - self._clock()))
        return self._done.is_set() and self.answered

    def found_silent(self, now: float) -> bool:
        """Whether it is known by now that the server did not answer in time (no waiting)."""
        if self.ended is None:
            return now - self.started >= self.timeout
        return not self.answered

    def stale(self, now: float) -> bool:
        """Whether its verdict is too old to stand for a new wait (kept for one probe timeout)."""
        return self.ended is not None and now - self.ended > self.timeout


class Suspicion:
    """Per process: when a quiet wait turns suspicious (`after`; 0: never, the answer limit alone
    decides), how long a probe may take, and the last probe, shared by every thread."""

    def __init__(self, after: float, probe_timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.after, self.probe_timeout, self.clock = after, probe_timeout, clock
        self._lock = threading.Lock()
        self._probe: _Probe | None = None

    @property
    def enabled(self) -> bool:
        return self.after > 0

    def alive(self, attempt: Callable[[], None]) -> bool:
        """Whether the server answers a fresh connection: the verdict of the probe in flight or of
        one that ended a moment ago, else of a new one calling `attempt`."""
        with self._lock:
            now = self.clock()
            if self._probe is None or self._probe.stale(now):
                self._probe = _Probe(attempt, now, self.probe_timeout, self.clock)
            probe = self._probe
        return probe.verdict()

    def silent(self) -> bool:
        """Whether a probe found the server silent a moment ago (a new connection need not try it)."""
        with self._lock:
            probe = self._probe
        now = self.clock()
        return probe is not None and not probe.stale(now) and probe.found_silent(now)

    def watch(self, attempt: Callable[[], None]) -> Watch | None:
        """A watch for one wait, or None while suspicion is off."""
        return Watch(self, attempt) if self.enabled else None


class Watch:
    """One wait on the server: asks the probe once, when the server has said nothing for `after`
    seconds (`heard`), or when the wait reaches its limit without having asked (`at_limit`)."""

    def __init__(self, suspicion: Suspicion, attempt: Callable[[], None]) -> None:
        self._suspicion, self._attempt = suspicion, attempt
        self._quiet_since = suspicion.clock()
        self.asked = False

    def heard(self, ready: Any) -> None:
        """psycopg woke the wait: `ready` is falsy when its 0.1 s step passed with nothing to read
        or write. Raises ServerSilent once the quiet has lasted `after` and the probe gets no answer."""
        now = self._suspicion.clock()
        if ready:
            self._quiet_since = now
        elif not self.asked and now - self._quiet_since >= self._suspicion.after:
            self._ask()

    def at_limit(self) -> None:
        """The wait reached its own limit first (a ping's is 1 s): ask now, so a silent server is
        told from a dead connection (ServerSilent, and no new connection tried) or not."""
        if not self.asked:
            self._ask()

    def _ask(self) -> None:
        self.asked = True
        if not self._suspicion.alive(self._attempt):
            limit = self._suspicion.probe_timeout
            raise ServerSilent(f"the database went quiet and a new connection got no answer within {limit:g} s")

    def follow(self, gen: Generator) -> Generator:
        """psycopg's generator of one round trip, with every wake-up told to `heard` first."""
        try:
            state = next(gen)
            while True:
                ready = yield state
                self.heard(ready)
                state = gen.send(ready)
        except StopIteration as end:
            return end.value
