"""What the bench's load is made of: a measured side as a Result, one timed request, a burst of simultaneous ones.

The closed loop itself (N threads alternating between the baseline and a scenario) is bench/paired.py.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests


@dataclass
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else float("nan")
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(q) - 1]


def timed(session: requests.Session, method: str, url: str, ok_status: int, **kw):
    t0 = time.perf_counter()
    resp = session.request(method, url, timeout=30, **kw)
    ms = (time.perf_counter() - t0) * 1000
    return ms, resp.status_code == ok_status, resp


def burst(calls: int, call: Callable[[requests.Session], int]) -> list[tuple[float, int]]:
    """`calls` requests sent at once, each from its own thread and connection (all wait at a
    barrier first); (latency ms, status) of each."""
    barrier = threading.Barrier(calls)
    out: list[tuple[float, int]] = []
    lock = threading.Lock()

    def one():
        session = requests.Session()
        barrier.wait()
        t0 = time.perf_counter()
        status = call(session)
        ms = (time.perf_counter() - t0) * 1000
        with lock:
            out.append((ms, status))

    pool = [threading.Thread(target=one, daemon=True) for _ in range(calls)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=300)
    return out
