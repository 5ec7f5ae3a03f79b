"""A scenario measured in pairs with the baseline: short alternating slices, so drift hits both sides.

The machine's speed drifts by 15-48% within one run (other engineers' suites come and go), and a
baseline measured once at each end of the run put that drift on every ratio. Here the same client
threads alternate between the baseline and the scenario in slices of `slice_s` seconds (in the order
B S, S B, B S, ...), and the ratio is that of the pooled requests per second of each side; the spread
of the per-pair ratios says how far one pair could be trusted alone.

Throughput: each request counts for the fraction of it that fell inside its slice's window (a
request cut by the window's end counts in part), so a side with longer requests is not charged
more for the window's edges. CPU: our servers' processes and the database's backends, read from
/proc before the slice and after its last request ended, divided by the requests started in the
slice: what a request costs the machine, which waiting for a busy CPU does not change.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from bench import cpu as cpu_time
from bench.load import Result

BASE, SCENARIO = 0, 1
Step = Callable[[requests.Session], "list[tuple[float, bool]] | None"]


@dataclass
class Slice:
    """One side's slice: requests (fractional, by time inside the window), window, CPU and requests started."""
    side: int
    requests: float = 0.0
    seconds: float = 0.0
    cpu_seconds: float | None = None
    started: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass
class Paired(Result):
    """The scenario's side as a Result (requests, errors, seconds and latencies pooled over its slices),
    with the baseline's side pooled the same way, and the per-pair figures."""
    baseline: Result | None = None
    pair_ratios: list[float] = field(default_factory=list)
    cpu_ms: float | None = None  # CPU per request, scenario
    baseline_cpu_ms: float | None = None

    @property
    def ratio(self) -> float:
        return self.rps / self.baseline.rps if self.baseline and self.baseline.rps else float("nan")

    @property
    def spread(self) -> tuple[float, float]:
        return (min(self.pair_ratios), max(self.pair_ratios)) if self.pair_ratios else (float("nan"),) * 2

    @property
    def margin(self) -> float:
        """About a 95% margin on the ratio from the pairs' scatter (1.96 standard errors of their mean):
        how far another run of the same code may read, when the load comes and goes as in this one."""
        n = len(self.pair_ratios)
        return 1.96 * statistics.stdev(self.pair_ratios) / math.sqrt(n) if n > 1 else float("nan")


def _pool(name: str, slices: list[Slice]) -> tuple[Result, float | None]:
    """One side's slices as one Result (requests rounded: hundreds each, the rounding is noise)."""
    result = Result(name, round(sum(s.requests for s in slices)), sum(s.errors for s in slices),
                    sum(s.seconds for s in slices), [ms for s in slices for ms in s.latencies_ms])
    cpu = [s for s in slices if s.cpu_seconds is not None]
    started = sum(s.started for s in cpu)
    return result, (1000 * sum(s.cpu_seconds for s in cpu) / started if cpu and started else None)


def summarise(name: str, pairs: list[tuple[Slice, Slice]]) -> Paired:
    """Pool each side's slices: the ratio of pooled rates, the per-pair ratios, CPU per request."""
    base, base_cpu = _pool("baseline", [b for b, _ in pairs])
    scen, cpu = _pool(name, [s for _, s in pairs])
    return Paired(name, scen.requests, scen.errors, scen.seconds, scen.latencies_ms, baseline=base,
                  pair_ratios=[s.rps / b.rps for b, s in pairs if b.rps], cpu_ms=cpu, baseline_cpu_ms=base_cpu)


class _Phase:
    """Which side the threads run now (None: pause), and the requests each slice collects."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.current: Slice | None = None
        self.window: tuple[float, float] = (0.0, float("inf"))
        self.inflight = 0
        self.exhausted = {BASE: threading.Event(), SCENARIO: threading.Event()}  # a side's pool ran out
        self.stop = False

    def begin(self) -> tuple[Slice | None, tuple[float, float]]:
        with self.cond:
            while self.current is None and not self.stop:
                self.cond.wait()
            if self.current is not None:
                self.inflight += 1
            return self.current, self.window

    def end(self, slice_: Slice, window, t0: float, t1: float, results, counted: bool) -> None:
        with self.cond:
            self.inflight -= 1
            slice_.started += len(results or ())
            if counted and results:
                lo, hi = window
                per = max(t1 - t0, 1e-9) / len(results)
                for i, (ms, ok) in enumerate(results):  # requests of one step share its span evenly
                    a, b = t0 + i * per, t0 + (i + 1) * per
                    inside = max(0.0, min(b, hi) - max(a, lo)) / (b - a)
                    if inside:  # one that began after the window's end (the sleep overran) is not in it
                        slice_.requests += inside
                        slice_.latencies_ms.append(ms)
                        slice_.errors += 0 if ok else 1
            self.cond.notify_all()

    def run_slice(self, slice_: Slice | None, seconds: float, cpu: Callable[[], cpu_time.Snapshot] | None) -> None:
        """Run `slice_` for `seconds` (a warm-up when its side is counted nowhere), then wait until
        its last request ended; its window and CPU are filled in."""
        cpu0 = cpu() if cpu and slice_ else None
        with self.cond:
            began = time.perf_counter()
            self.current, self.window = slice_, (began, began + seconds)
            self.cond.notify_all()
        if slice_ is not None:
            self.exhausted[slice_.side].wait(seconds)  # a pool of prepared work that runs out ends the slice
        else:
            time.sleep(seconds)
        with self.cond:
            ended = min(time.perf_counter(), began + seconds)
            self.window = (began, ended)
            self.current = None
            while self.inflight:
                self.cond.wait()
        if slice_ is not None:
            slice_.seconds = ended - began
            slice_.cpu_seconds = cpu_time.used(cpu0, cpu()) if cpu0 is not None else None


def run(name: str, step: Step, base_step: Step, threads: int = 8, seconds: float = 5.0, slice_s: float = 1.0,
        cpu: Callable[[], cpu_time.Snapshot] | None = None, warmup: float = 1.0) -> Paired:
    """`seconds` of the scenario and as many of the baseline, in alternating slices of `slice_s`.

    `step` makes one or more requests with the thread's session and returns (latency ms, ok) for each,
    or None when it has no work left (a pool of prepared orders ran out; either side's, when both are
    scenarios of two trees): that side's slice ends there, and the run with that pair.
    `cpu` takes a snapshot of the CPU used so far by everything serving both sides (bench.cpu.meter).
    """
    phase = _Phase()
    steps = {BASE: base_step, SCENARIO: step}
    warm = {BASE: Slice(BASE), SCENARIO: Slice(SCENARIO)}

    def worker():
        sessions = {BASE: requests.Session(), SCENARIO: requests.Session()}
        while True:
            slice_, window = phase.begin()
            if slice_ is None:
                return
            t0 = time.perf_counter()
            try:
                results = steps[slice_.side](sessions[slice_.side])
            except Exception:
                results = [(0.0, False)]
            t1 = time.perf_counter()
            if results is None:
                phase.exhausted[slice_.side].set()
            phase.end(slice_, window, t0, t1, results, counted=slice_ is not warm[slice_.side])

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    for side in (BASE, SCENARIO):  # sessions, carts and connection pools made before anything counts
        phase.run_slice(warm[side], warmup / 2, None)
    pairs: list[tuple[Slice, Slice]] = []
    rounds = max(1, round(seconds / slice_s))
    for n in range(rounds):
        if any(ran_out.is_set() for ran_out in phase.exhausted.values()):
            break
        pair = (Slice(BASE), Slice(SCENARIO))
        for side in ((BASE, SCENARIO) if n % 2 == 0 else (SCENARIO, BASE)):
            phase.run_slice(pair[side], slice_s, cpu)
        if pair[SCENARIO].seconds and pair[BASE].seconds:  # a side that ran dry before its turn: no pair
            pairs.append(pair)
    with phase.cond:
        phase.stop = True
        phase.cond.notify_all()
    for t in pool:
        t.join(timeout=60)
    return summarise(name, pairs)
