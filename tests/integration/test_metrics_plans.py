"""The figures /metrics reads from the database cost what is pending, not history: each is one statement,
and with thousands of sent messages and open holds beside them, no step of its plan reads them."""

from __future__ import annotations

import datetime as dt

import pytest

from shop.core import plans
from shop.core.clock import clock
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.big_catalog import seed_catalog, seed_holds
from tests.support.metrics import AUTH, TOKEN, samples, value
from tests.support.outbox_backlog import seed_messages
from tests.support.plans import explained, wide_reads

pytestmark = pytest.mark.postgres

MOST = 200  # rows a gauge may read: a few times what is due or at risk here, far below the history


def test_each_database_gauge_is_one_indexed_statement(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    now = clock.now()
    store = f.store(code="PLAN")
    db.session.commit()
    seed_catalog(2_000, [store.id])
    seed_holds(store.id, 5_000, 2_000, now + dt.timedelta(hours=1))  # open holds, none at risk
    seed_messages(5_000, now - dt.timedelta(days=2), status="sent", tag="past")
    seed_messages(20, now - dt.timedelta(minutes=5), tag="due")
    seed_messages(5_000, now + dt.timedelta(days=1), tag="later")  # pending, not yet due
    db.session.commit()
    for table in ("messages", "reservations", "reservation_lines"):
        plans.analyze(table)
    db.session.commit()

    with explained() as statements:
        resp = client.get("/metrics", headers=AUTH)
    assert resp.status_code == 200
    scraped = samples(resp.get_data(as_text=True))
    assert value(scraped, "omnishop_outbox_due_messages") == 20
    assert value(scraped, "omnishop_holds_at_risk") == 0
    reads = [s for s in statements if "messages" in s.sql or "reservations" in s.sql or "scheduler_leases" in s.sql]
    assert len(reads) == 3, [s.sql for s in reads]
    assert wide_reads(reads, {"messages", "reservations", "scheduler_leases"}, MOST) == []
