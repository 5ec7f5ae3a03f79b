"""The memory store for rate limits counts as limits' own does, without a thread per count."""

from __future__ import annotations

import threading

from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from shop.core.rate_limits import SweptMemoryStorage


def test_memory_uri_gives_the_swept_store_and_its_hook_is_limits_own():
    assert isinstance(storage_from_string("memory://"), SweptMemoryStorage)
    # The override only works while limits calls a method of this (private) name.
    assert callable(getattr(MemoryStorage, "_MemoryStorage__schedule_expiry", None))
    assert callable(getattr(MemoryStorage, "_MemoryStorage__expire_events", None))


def test_counts_start_no_thread():
    store = SweptMemoryStorage()
    store.timer.join()
    before = threading.active_count()
    for _ in range(50):
        store.incr("key", 60)
        store.acquire_entry("moving", 100, 60)
    assert threading.active_count() == before
    assert store.get("key") == 50


def test_limits_hold_as_with_limits_own_store(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr("time.time", lambda: now[0])
    for strategy in (FixedWindowRateLimiter, MovingWindowRateLimiter):
        ours, theirs = strategy(SweptMemoryStorage()), strategy(MemoryStorage())
        limit = parse("3/second")
        for step in range(12):
            now[0] += 0.3
            assert ours.hit(limit, "caller") == theirs.hit(limit, "caller"), (strategy, step)


def test_expired_counters_are_swept():
    store = SweptMemoryStorage()
    store.incr("gone", 0.001)
    store.swept -= store.SWEEP_SECONDS  # a second ago
    threading.Event().wait(0.01)
    store.incr("other", 60)
    assert "gone" not in store.storage and "gone" not in store.expirations
