"""`make bench`: Omnishop endpoints under gunicorn on PostgreSQL beside a bare-Flask baseline.

Makes its own database, seeds it, starts both servers on 127.0.0.1, drives each with the same
closed-loop client, prints a table, writes the run as a JSON record (bench/record.py), and cleans
up. Figures are for reading, never pass/fail.

    python -m bench [--record PATH]        run (record to bench/results/<commit>.json by default)
    python -m bench compare A.json B.json  two records' ratios side by side
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
from pathlib import Path

from sqlalchemy import make_url

from bench import abandonment, cpu, load, outbox, paired, record, scale, scenarios
from bench.servers import (
    ADMIN_URL,
    BACKLOG,
    CATALOG,
    CATALOG_STORES,
    RACE_UNITS,
    STORES,
    UNTHROTTLED,
    bench_database,
    conninfo,
    gunicorn,
    make_ready,
    prepared_carts,
    settle,
)

# A developer's tool, like `make run`: a SECRET_KEY is generated when none is set (docs/security.md).
os.environ.setdefault("OMNISHOP_ENV", "development")
THREADS = int(os.environ.get("BENCH_THREADS", "8"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))  # of each scenario, and as many of the baseline beside it
SLICE = float(os.environ.get("BENCH_SLICE", "1"))  # seconds of one side before the other's turn
CARTS = int(os.environ.get("BENCH_CARTS", "3000"))
WORKERS = int(os.environ.get("BENCH_WORKERS", str(2 * (os.cpu_count() or 1))))
ONLY = os.environ.get("BENCH_ONLY", "")  # e.g. BENCH_ONLY=reserve,race: scenarios whose name has one
BUYERS = int(os.environ.get("BENCH_BUYERS", "200"))
# Another source tree (an older commit from `git archive`): each scenario is then paired with the same
# scenario served from that tree, not with the baseline, and its ratio is this tree's rate over that
# tree's (checkout and handover: each tree gets its own half of the prepared carts, then hands over
# the orders it placed).
AGAINST = os.environ.get("BENCH_AGAINST", "")


def wanted(name: str) -> bool:
    return any(part.strip().lower() in name.lower() for part in ONLY.split(","))


def table(results: list[load.Result]) -> str:
    head = (f"{'scenario':44} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
            f"{'base/s':>7} {'ratio':>6} {'±':>4} {'pairs':>9} {'CPU ms':>6} {'base':>5}")
    lines = [head, "-" * len(head)]
    for r in results:
        row = f"{r.name[:44]:44} {r.requests:8d} {r.rps:7.1f} {r.pct(50):7.2f} {r.pct(99):7.2f} {r.errors:6d}"
        if isinstance(r, paired.Paired):
            low, high = r.spread
            row += f" {r.baseline.rps:7.1f} {r.ratio:6.0%} {r.margin * 100:4.0f} {low:4.0%}-{high:<4.0%}"
            if r.cpu_ms is not None and r.baseline_cpu_ms is not None:
                row += f" {r.cpu_ms:6.2f} {r.baseline_cpu_ms:5.2f}"
        lines.append(row)
    return "\n".join(lines)


def pooled_baseline(results: list[load.Result]) -> float:
    """The baseline's requests per second over every pair of the run."""
    sides = [r.baseline for r in results if isinstance(r, paired.Paired) and r.baseline]
    seconds = sum(b.seconds for b in sides)
    return sum(b.requests for b in sides) / seconds if seconds else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--record", default=os.environ.get("BENCH_RECORD") or None,
                        help="where to write the JSON record (default: bench/results/<commit>.json)")
    sub = parser.add_subparsers(dest="command")
    comparing = sub.add_parser("compare", help="two records' ratios side by side")
    comparing.add_argument("a")
    comparing.add_argument("b")
    args = parser.parse_args()
    if args.command == "compare":
        print(record.compare(args.a, args.b))
        return
    run(args.record)


def settings() -> dict:
    return {"threads": THREADS, "seconds": SECONDS, "workers": WORKERS, "carts": CARTS, "only": ONLY,
            "catalog": CATALOG, "catalog_stores": CATALOG_STORES, "stores": STORES, "backlog": BACKLOG,
            "buyers": BUYERS, "slice": SLICE, "against": AGAINST}


def run(record_path: str | None) -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"gunicorn sync x{WORKERS}, client threads {THREADS}, {SECONDS:.0f} s per scenario; "
          f"catalog {CATALOG + 101} SKUs, {CATALOG} of them at {CATALOG_STORES} stores; {STORES} stores; "
          f"{BACKLOG} expired holds waiting at the bench store")
    with bench_database() as (url, seed):
        env = {"DATABASE_URL": url, "BENCH_STORE_ID": str(seed.store_id),
               "BENCH_PRODUCT_ID": str(seed.baseline_product_id), "LOG_LEVEL": "WARNING",
               **UNTHROTTLED}
        sides = 2 if AGAINST else 1  # each tree checks out carts of its own
        cart_ids = prepared_carts(url, seed.store_id, sides * CARTS if wanted("checkout handover") else 0)
        settle(url)
        placed: list = []
        placed_there: list = []
        # Each scenario alternates with the baseline in short slices (bench/paired.py): drift of the
        # machine's speed lands on both sides of a ratio alike.
        with contextlib.ExitStack() as servers:
            base_url, base_master = servers.enter_context(gunicorn("bench.baseline_app:app", env, WORKERS))
            url_, master = servers.enter_context(gunicorn("wsgi:app", env, WORKERS))
            masters = [base_master, master]
            if AGAINST:
                other_url, other_master = servers.enter_context(gunicorn("wsgi:app", env, WORKERS, Path(AGAINST)))
                masters.append(other_master)
            snapshot = servers.enter_context(cpu.meter(masters, conninfo(ADMIN_URL), make_url(url).database))
            base_step = scenarios.baseline(base_url)

            def measure(name, step, beside=base_step):
                return paired.run(name, step, beside, THREADS, SECONDS, SLICE, snapshot)

            theirs = dict(scenarios.omnishop(other_url, seed)) if AGAINST else {}
            results = [measure(name, step, theirs.get(name, base_step))
                       for name, step in scenarios.omnishop(url_, seed) if wanted(name)]
            if wanted("checkout handover"):
                ours, there = cart_ids[:CARTS], cart_ids[CARTS:]
                results.append(measure("checkout, pay at store (POST .../checkout)",
                                       scenarios.checkout(url_, ours, placed),
                                       scenarios.checkout(other_url, there, placed_there) if AGAINST else base_step))
                make_ready(url, placed + placed_there)
                results.append(measure("handover with pickup code (POST .../handover)",
                                       scenarios.handover(url_, seed, placed),
                                       scenarios.handover(other_url, seed, placed_there) if AGAINST else base_step))
            if wanted(outbox.NAME):
                results.append(outbox.drain(url))  # in-process: the sweep, not an endpoint
            races = [scenarios.race(url_, seed, sku, BUYERS) for sku in seed.race_skus] if wanted("race") else []
        baseline_rps = pooled_baseline(results)
        print(table(results))
        if AGAINST:
            print(f"base = the same scenario served from {AGAINST}: ratio = this tree's rate over that tree's")
        print(f"baseline = PK read + conditional UPDATE in bare Flask, alternated with each scenario in "
              f"{SLICE:g} s slices; ratio = pooled req/s over the baseline's beside it; ± = 1.96 standard "
              f"errors of the pairs' ratios, in points; pairs = lowest-highest ratio of one pair; CPU ms = "
              f"servers' and database backends' CPU per request, scenario and baseline; the baseline's own "
              f"rate ranged {baseline_range(results)} over the run")
        if wanted(outbox.NAME):
            print("outbox: 'requests' = mails the SMTP server accepted, req/s = mails per second of deliver_due, "
                  "p50/p99 = gap between consecutive mails, errors = mails not sent")
        if races:
            print(race_table(races))
        if wanted(scale.NAME):  # in-process, after the servers stopped: nothing else runs
            print(scale.table(scale.run(url, seed)))
        if wanted(abandonment.NAME):
            print("\n".join(abandonment.run(url, seed.store_id)))  # in-process, after the servers stopped
        written = record.write(record.build(results, baseline_rps, settings(), conninfo(ADMIN_URL), races),
                               record_path)
        print(f"record: {written} (compare two with `python -m bench compare A.json B.json`)")


def baseline_range(results: list[load.Result]) -> str:
    rates = [r.baseline.rps for r in results if isinstance(r, paired.Paired) and r.baseline and r.baseline.seconds]
    return f"{min(rates):.0f}-{max(rates):.0f} req/s" if rates else "-"


def race_table(races: list[list[tuple[float, int]]]) -> str:
    """One line per round of the race: who won, who was told no, and how long they all waited."""
    lines = [f"race: {BUYERS} buyers at once for the last {RACE_UNITS} units (POST .../reservations, 1 unit each)",
             f"{'round':>5} {'201':>5} {'409':>5} {'other':>6} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}"]
    for n, outcomes in enumerate(races, 1):
        statuses = [status for _, status in outcomes]
        ms = sorted(latency for latency, _ in outcomes)
        won, lost = statuses.count(201), statuses.count(409)
        pct = statistics.quantiles(ms, n=100, method="inclusive")
        lines.append(f"{n:5d} {won:5d} {lost:5d} {len(ms) - won - lost:6d} {pct[49]:9.1f} {pct[98]:9.1f} {ms[-1]:9.1f}"
                     + ("" if won == RACE_UNITS else f"  <- {won} winners, expected {RACE_UNITS}"))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
