"""A small closed-loop load generator: N threads, each with its own keep-alive session, for T seconds."""

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
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else float("nan")
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(q) - 1]


def run(name: str, step: Callable[[requests.Session], list[tuple[float, bool]]],
        threads: int = 8, seconds: float = 5.0, warmup: float = 1.0) -> Result:
    """`step` makes one or more requests and returns (latency_ms, ok) for each, or None when it
    has no work left (a pool of prepared orders ran out): then the run ends early.

    Threads warm up for `warmup` seconds, then what they do in the next `seconds` is counted.
    """
    measuring, stop = threading.Event(), threading.Event()
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def worker():
        session = requests.Session()
        mine, bad = [], 0
        while not stop.is_set():
            counted = measuring.is_set()
            results = step(session)
            if results is None:
                break
            if counted and not stop.is_set():
                mine += [ms for ms, _ in results]
                bad += sum(1 for _, ok in results if not ok)
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    time.sleep(warmup)
    measuring.set()
    began = time.perf_counter()
    deadline = began + seconds
    while time.perf_counter() < deadline and any(t.is_alive() for t in pool):
        time.sleep(0.01)
    stop.set()
    elapsed = time.perf_counter() - began
    for t in pool:
        t.join(timeout=60)
    return Result(name, len(latencies), errors[0], elapsed, latencies)


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
