"""A clock a test sets and moves: shop.core.clock.clock.now answers what the test says."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from shop.core.clock import clock


class TestClock:
    __test__ = False

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def set(self, when: dt.datetime) -> dt.datetime:
        self.now = when.astimezone(dt.UTC)
        return self.now

    def advance(self, **delta) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


@pytest.fixture
def frozen_clock(monkeypatch) -> Iterator[TestClock]:
    frozen = TestClock(dt.datetime.now(dt.UTC).replace(microsecond=0))
    monkeypatch.setattr(clock, "now", lambda: frozen.now)
    yield frozen
