"""One dependency's outage, per process: told in a few log lines (the first failure with its
traceback, a count every so often, one line when it is over; never a traceback per request), and
tried again by a thread of its own every retry interval while it lasts, so requests meanwhile can
fail at once instead of each waiting out a connect timeout while sync workers queue up behind them."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable


class Outage:
    def __init__(self, logger: logging.Logger, what: str, log_interval: float, retry_interval: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log, self._what, self._clock = logger, what, clock
        self._log_interval, self._retry_interval = log_interval, retry_interval
        self._lock = threading.Lock()
        self._started: float | None = None  # when the outage began, None while all is well
        self._reported = 0.0  # when the last line was written
        self._total = 0  # failures since the outage began
        self._unreported = 0  # failures since the last line
        self._prober: threading.Thread | None = None

    @property
    def ongoing(self) -> bool:
        return self._started is not None

    def probe(self, attempt: Callable[[], None]) -> None:
        """While the outage lasts, call `attempt` every retry interval on one thread of this process
        (started here unless one runs); the first attempt that does not raise ends the outage."""
        with self._lock:
            if self._started is None or (self._prober is not None and self._prober.is_alive()):
                return
            self._prober = threading.Thread(target=self._probe, args=(attempt,), daemon=True,
                                            name=f"{self._what}-prober")
            self._prober.start()

    def _probe(self, attempt: Callable[[], None]) -> None:
        while self.ongoing:
            time.sleep(self._retry_interval)
            try:
                attempt()
            except Exception as error:  # still out: the failing requests count it, not the prober
                self._log.debug("%s still unreachable: %s", self._what, _describe(error))
            else:
                self.recovered()

    def failed(self, error: BaseException) -> None:
        """One more failure: logged with its traceback if it starts an outage, else counted."""
        with self._lock:
            now = self._clock()
            self._total += 1
            if self._started is None:
                self._started = self._reported = now
                self._unreported = 0
                first = True
            else:
                first = False
                self._unreported += 1
                if now - self._reported < self._log_interval:
                    return
                count, since, total = self._unreported, now - self._reported, self._total
                self._reported, self._unreported = now, 0
        if first:
            self._log.error("%s unreachable: %s", self._what, _describe(error), exc_info=error)
        else:
            self._log.warning("%s still unreachable: %d more failures in %.0f s (%d since it began)",
                              self._what, count, since, total)

    def recovered(self) -> None:
        """The dependency answered again: one line closing the outage, nothing if there was none."""
        with self._lock:
            if self._started is None:
                return
            lasted, total = self._clock() - self._started, self._total
            self._started, self._total, self._unreported = None, 0, 0
        self._log.warning("%s reachable again after %.1f s and %d failures", self._what, lasted, total)


def _describe(error: BaseException) -> str:
    """The first line of the error, without SQLAlchemy's statement and background link."""
    cause = getattr(error, "orig", None) or error
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else ''}"
