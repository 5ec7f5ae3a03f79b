"""An outage told in a few log lines: the first failure with its traceback, then a count every so
often while it lasts, then one line when it is over; never a traceback per request."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable


class OutageLog:
    """Rate-limits the log of one dependency's outage (one per process: each worker tells its own)."""

    def __init__(self, logger: logging.Logger, what: str, interval: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log, self._what, self._interval, self._clock = logger, what, interval, clock
        self._lock = threading.Lock()
        self._started: float | None = None  # when the outage began, None while all is well
        self._reported = 0.0  # when the last line was written
        self._total = 0  # failures since the outage began
        self._unreported = 0  # failures since the last line

    @property
    def ongoing(self) -> bool:
        return self._started is not None

    def failed(self, error: BaseException) -> None:
        """One more failure: logged with its traceback if it starts an outage, else counted."""
        with self._lock:
            now = self._clock()
            self._total += 1
            if self._started is None:
                self._started, self._reported, self._unreported = now, now, 0
                first = True
            else:
                first = False
                self._unreported += 1
                if now - self._reported < self._interval:
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
        self._log.warning("%s reachable again after %.1f s and %d failed requests", self._what, lasted, total)


def _describe(error: BaseException) -> str:
    """The first line of the error, without SQLAlchemy's statement and background link."""
    cause = getattr(error, "orig", None) or error
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else ''}"
