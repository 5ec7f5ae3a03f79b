"""Real OS processes sweeping abandoned carts at the same moment (multiprocessing, spawn): each
builds the app on its own, waits at a barrier until every one is ready (a gate, not a sleep: a
loaded machine takes as long as it takes to import), then sweeps until nothing is due. What each
did comes back on a queue: (pid, carts looked at, batches, error or None)."""

from __future__ import annotations

import multiprocessing
import os
import queue

from tests.support.app import make_app

GATE_SECONDS = 600  # how long a ready process waits for the others to be ready
RESULT_SECONDS = 900  # how long the test waits for each process's answer


def _sweep_abandoned(database_url: str, outbox_dir: str, limit: int, gate, results) -> None:
    looked = batches = 0
    try:
        from shop.carts import abandonment
        from shop.core import sweeps as runner
        from shop.core.extensions import db

        app = make_app(database_url, DEV_OUTBOX_DIR=outbox_dir, LOG_LEVEL="WARNING")
        with app.app_context():
            gate.wait(timeout=GATE_SECONDS)
            while done := runner.in_transaction(lambda: abandonment.find_abandoned(limit=limit)):
                looked, batches = looked + done, batches + 1
            db.engine.dispose()
        results.put((os.getpid(), looked, batches, None))
    except BaseException as exc:  # noqa: BLE001 - reported to the test, which fails on it
        gate.abort()  # the others stop waiting
        results.put((os.getpid(), looked, batches, repr(exc)))


def abandoned_sweeps_at_once(count: int, database_url: str, outbox_dir: str, limit: int) -> list[tuple]:
    """Run `count` processes of the abandonment sweep (batches of `limit`) at once; their reports."""
    context = multiprocessing.get_context("spawn")
    gate, results = context.Barrier(count), context.Queue()
    procs = [context.Process(target=_sweep_abandoned, args=(database_url, outbox_dir, limit, gate, results))
             for _ in range(count)]
    for proc in procs:
        proc.start()
    reports = []
    try:
        for _ in procs:
            try:
                reports.append(results.get(timeout=RESULT_SECONDS))
            except queue.Empty:
                reports.append((None, 0, 0, "no answer in time"))
    finally:
        for proc in procs:
            proc.join(timeout=60)
            if proc.is_alive():
                proc.kill()
                proc.join()
    return reports
