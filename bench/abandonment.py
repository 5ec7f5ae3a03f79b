"""The abandoned-cart scenario: detection over 1,000,000 carts (100,000 newly idle), in-process as
the scheduler runs it, on the bench database.

Two figures (issue 15's targets beside them, for reading, never pass/fail): the time to find the
next 1,000 due (the sweep's claim, `shop.carts.abandonment.due`, run 20 times and rolled back:
p50 and max), and the time to enrol 10,000 carts (the sweep's batches, each its own transaction:
claim, stamp, price each cart, one signal for the batch; the campaign receiver enrols the batch in
the demo campaign: one consent query per channel, one INSERT).
"""

from __future__ import annotations

import os
import statistics
import time

TOTAL = int(os.environ.get("BENCH_ABANDON_CARTS", "1000000"))
IDLE = TOTAL // 10
NEXT, ENROL, RUNS = 1_000, 10_000, 20
NAME = f"abandoned carts: {TOTAL} carts, {IDLE} newly idle"


def run(url: str, store_id: int) -> list[str]:
    """Seed, measure, and say what was measured (lines to print)."""
    from sqlalchemy import func, select

    from inventory.models import Product
    from notifications.campaigns import demo
    from notifications.campaigns.models import Enrolment
    from shop.app import create_app
    from shop.carts import abandonment
    from shop.core import sweeps as runner
    from shop.core.clock import clock
    from shop.core.extensions import db
    from tests.support.abandoned_carts import seed_carts
    from tests.support.plans import explained

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        product_id = db.session.scalar(select(Product.id).order_by(Product.id).limit(1))
        demo.ensure_default()
        db.session.commit()
        began = time.perf_counter()
        seed_carts(TOTAL, IDLE, store_id, product_id, clock.now(), tag="bench")
        seeded = time.perf_counter() - began
        claims = []
        for _ in range(RUNS):
            began = time.perf_counter()
            found = len(db.session.execute(abandonment.due(clock.now(), NEXT)).all())
            claims.append((time.perf_counter() - began) * 1000)
            db.session.rollback()
        with explained() as statements:  # the server's own time for the claim, beside the wall clock's
            db.session.execute(abandonment.due(clock.now(), NEXT)).all()
        db.session.rollback()
        server_ms = statements[0].execution_ms
        began, looked = time.perf_counter(), 0
        while looked < ENROL:
            batch = min(abandonment.BATCH, ENROL - looked)
            looked += runner.in_transaction(lambda batch=batch: abandonment.find_abandoned(limit=batch))
        enrol_seconds = time.perf_counter() - began
        enrolled = db.session.scalar(select(func.count()).select_from(Enrolment))
        db.engine.dispose()
    return [f"{NAME} (seeded in {seeded:.0f} s)",
            f"  next {NEXT} due ({found} found): p50 {statistics.median(claims):.2f} ms, max {max(claims):.2f} ms "
            f"over {RUNS} runs; {server_ms:.2f} ms in the server (EXPLAIN ANALYZE) (target < 10 ms)",
            f"  enrol {looked} carts: {enrol_seconds:.2f} s, {looked / enrol_seconds:.0f} carts/s, "
            f"{enrolled} enrolments (target < 10 s)"]
