"""The outbox scenario: a backlog of due mail drained by the delivery sweep through a real SMTP server.

In-process, as the scheduler runs it: `deliver_due` (claim 50, commit, send each over its own SMTP
connection, record each) against the aiosmtpd stand-in on 127.0.0.1 (tests/support/smtp.py), on the
bench database. The figure is messages accepted by the server per second of sweeping.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections import Counter

from bench import load

DUE = int(os.environ.get("BENCH_OUTBOX", "10000"))
NAME = f"outbox: {DUE} due mails drained via SMTP"


def drain(url: str) -> load.Result:
    """Seed DUE due mails, sweep until none is left, and count what the SMTP server accepted.

    The Result's "latencies" are the gaps between consecutive mails arriving at the server; its
    errors, the mails that were not sent."""
    from notifications.delivery import deliver_due
    from shop.app import create_app
    from shop.core import plans
    from shop.core.clock import clock
    from shop.core.extensions import db
    from tests.support.outbox_backlog import seed_messages
    from tests.support.smtp import SmtpServer

    server = SmtpServer()
    arrivals: list[float] = []
    server.on_data = lambda: arrivals.append(time.perf_counter())
    server.start()
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING", **server.config()})
        with app.app_context():
            seed_messages(DUE, clock.now() - dt.timedelta(minutes=1), tag="bench")
            plans.analyze("messages")
            db.session.commit()
            counts: Counter = Counter()
            began = time.perf_counter()
            while swept := deliver_due(limit=DUE, budget_seconds=3600):
                counts.update(swept)
            elapsed = time.perf_counter() - began
            db.engine.dispose()
    finally:
        server.stop()
    gaps = [(later - earlier) * 1000 for earlier, later in zip(arrivals, arrivals[1:], strict=False)]
    return load.Result(NAME, len(arrivals), DUE - counts["sent"], elapsed, gaps)
