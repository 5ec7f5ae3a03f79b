"""`python -m cluster.prepared_cost [HOLDS]`: what the hold path gains from its prepared statement, the
figure that decides how PgBouncer may pool it (docs/scaling.md).

In-process on a throw-away PostgreSQL database, one thread: HOLDS one-unit holds of one SKU, each its
own transaction, first with the one-statement hold prepared on the server as shipped
(`shop.core.plans.prepared`), then with it planned every time (what a pooler in transaction mode
without prepared-statement support, such as Debian 12's PgBouncer 1.18, forces: prepare_threshold=None).
Prints the mean milliseconds per hold and holds per second of each, and the planning time of the
statement as PostgreSQL reports it.
"""

from __future__ import annotations

import contextlib
import sys
import time
import uuid

from cluster.world import ADMIN_URL
from tests.support.scratch_database import scratch_database


def database():
    return scratch_database(ADMIN_URL, f"omnishop_prepared_{uuid.uuid4().hex[:10]}")


def run(holds: int) -> None:
    import flask_migrate

    from inventory import hold_statement, reservations
    from shop.app import create_app
    from shop.core.extensions import db
    from tests.support import factories as f

    with database() as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING", "SECRET_KEY": uuid.uuid4().hex * 2})
        with app.app_context():
            flask_migrate.upgrade()
            store = f.store(code="PREP")
            f.stock(store, f.product(sku="HOT"), 10**9)
            db.session.commit()
            shipped = hold_statement.prepared
            figures = {}
            for label, prepare in (("prepared (as shipped)", shipped), ("planned every time", _unprepared)):
                hold_statement.prepared = prepare
                try:
                    for n in range(-50, holds):  # 50 to warm up
                        if n == 0:
                            started = time.perf_counter()
                        reservations.reserve_skus(store.id, {"HOT": 1}, f"prep-{label[:4]}-{n}", None)
                        db.session.commit()
                    figures[label] = (time.perf_counter() - started) / holds
                finally:
                    hold_statement.prepared = shipped
            db.engine.dispose()
    for label, seconds in figures.items():
        print(f"{label:24} {seconds * 1000:7.2f} ms per hold  {1 / seconds:7.0f} holds/s (one thread, commit each)")


@contextlib.contextmanager
def _unprepared(session):
    yield


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
