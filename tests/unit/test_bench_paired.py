"""The bench measures each scenario in slices alternated with the baseline, so the machine's drift
lands on both sides of a ratio (bench/paired.py)."""

from __future__ import annotations

import threading
import time

import pytest

from bench import cpu, paired
from bench.paired import BASE, SCENARIO, Slice


def test_a_machine_that_slows_down_mid_run_leaves_the_ratio_alone():
    # The machine halves its speed after the first pair: both sides halve together. Measured the old
    # way (baseline once at each end, 100 and 50 req/s, against the scenario's 37.5 overall) the ratio
    # would read 50%, or 38% or 75% against one end; paired it is the scenario's true 50%.
    pairs = [(Slice(BASE, 100.0, 1.0, 0.30, 100), Slice(SCENARIO, 50.0, 1.0, 0.40, 50)),
             (Slice(BASE, 50.0, 1.0, 0.15, 50), Slice(SCENARIO, 25.0, 1.0, 0.20, 25))]
    result = paired.summarise("add to cart", pairs)
    assert result.ratio == pytest.approx(0.5)
    assert result.spread == pytest.approx((0.5, 0.5))
    assert (result.requests, result.baseline.requests) == (75, 150)
    assert result.cpu_ms == pytest.approx(8.0) and result.baseline_cpu_ms == pytest.approx(3.0)


def test_the_spread_shows_pairs_that_disagree():
    pairs = [(Slice(BASE, 100.0, 1.0), Slice(SCENARIO, 40.0, 1.0)),
             (Slice(BASE, 100.0, 1.0), Slice(SCENARIO, 60.0, 1.0))]
    result = paired.summarise("read cart", pairs)
    assert result.ratio == pytest.approx(0.5) and result.spread == pytest.approx((0.4, 0.6))
    assert result.cpu_ms is None  # no CPU readings (not Linux): no figure rather than a wrong one


def test_a_request_cut_by_the_end_of_its_slice_counts_for_the_part_inside():
    phase, slice_ = paired._Phase(), Slice(SCENARIO)
    phase.inflight = 3
    phase.end(slice_, (10.0, 11.0), 10.2, 10.4, [(200.0, True)], counted=True)
    phase.end(slice_, (10.0, 11.0), 10.9, 11.1, [(200.0, False)], counted=True)  # half of it inside
    phase.end(slice_, (10.0, 11.0), 11.01, 11.2, [(190.0, True)], counted=True)  # began after the end
    assert slice_.requests == pytest.approx(1.5)
    assert (slice_.started, slice_.errors, slice_.latencies_ms) == (3, 1, [200.0, 200.0])


def _recording_steps(seen: list, limit: int | None = None, side_limited: int = SCENARIO):
    lock = threading.Lock()

    def side(which):
        def step(session):
            with lock:
                if which == side_limited and limit is not None and seen.count(which) >= limit:
                    return None
                seen.append(which)
            return [(1.0, which == BASE)]  # the scenario's requests all fail here: errors are counted
        return step
    return side(BASE), side(SCENARIO)


def test_sides_alternate_in_slices_and_every_counted_request_is_one_a_step_made():
    seen: list[int] = []
    base, scenario = _recording_steps(seen)
    result = paired.run("fake", scenario, base, threads=2, seconds=0.2, slice_s=0.05, warmup=0.04)
    assert len(result.pair_ratios) == 4
    sides = [s for i, s in enumerate(seen) if i == 0 or seen[i - 1] != s]
    # warm-up B S, then pairs B S, S B, B S, S B: each change of side is a slice boundary
    assert sides == [BASE, SCENARIO, BASE, SCENARIO, BASE, SCENARIO, BASE]
    assert 0 < result.requests <= seen.count(SCENARIO) and abs(result.errors - result.requests) <= 8
    assert 0 < result.baseline.requests <= seen.count(BASE) and result.baseline.errors == 0


def test_a_scenario_that_runs_out_of_work_ends_with_the_pairs_so_far():
    seen: list[int] = []
    base, scenario = _recording_steps(seen, limit=50)
    result = paired.run("checkout", scenario, base, threads=2, seconds=100.0, slice_s=0.05, warmup=0.02)
    assert len(result.pair_ratios) <= 1 and seen.count(SCENARIO) == 50  # not 2,000 pairs of nothing
    assert result.rps >= 0 and result.requests <= 50


def test_a_side_of_another_tree_that_runs_out_ends_its_slice_and_the_run():
    # Two trees' checkouts side by side (BENCH_AGAINST): the other tree's orders run out first. Its
    # slice must end there (not sleep out its time and read a rate diluted by idle seconds).
    seen: list[int] = []
    base, scenario = _recording_steps(seen, limit=200, side_limited=BASE)

    def slow_base(session):  # 200 steps of ~1 ms on 2 threads: runs dry ~0.1 s into a 1 s slice
        time.sleep(0.001)
        return base(session)

    began = time.perf_counter()
    result = paired.run("handover", scenario, slow_base, threads=2, seconds=100.0, slice_s=1.0, warmup=0.02)
    assert time.perf_counter() - began < 5 and seen.count(BASE) == 200
    assert len(result.pair_ratios) == 1 and 0 < result.baseline.seconds < 0.9
    assert result.baseline.rps > 200 / 0.9  # its rate while it had work, not over the idle rest of the slice


def test_cpu_used_counts_a_process_that_appeared_from_its_start():
    assert cpu.used({1: 5_000_000_000, 2: 1_000_000_000}, {1: 6_000_000_000, 2: 1_500_000_000, 3: 250_000_000}) \
        == pytest.approx(1.75)
