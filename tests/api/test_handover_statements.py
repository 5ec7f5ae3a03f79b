"""What a handover paid at the counter costs in statements (pings, BEGIN and COMMIT not seen): on
PostgreSQL the order's move, its event and its message are one statement, the hold's lines, the
stock rows' lock and the hold's claim one (the hold is not loaded), the ledger one, the order with its
lines (locked with it) one (docs/performance.md,
"The handover, third pass" and perf-handover3). A ceiling reached, so a statement added shows."""

from __future__ import annotations

from shop.core.extensions import db
from tests.support.pickup import ready_order
from tests.support.statement_count import statements

CEILING = {"postgresql": 6, "sqlite": 12}


def test_a_handover_at_the_counter_stays_within_its_statements(client, store_world):
    placed = ready_order(client, store_world)
    db.session.expunge_all()  # the handover reads from the database, not from what the setup left loaded
    with statements() as seen:
        resp = client.post(f"/api/v1/orders/{placed['order']['id']}/handover",
                           json={"pickup_code": placed["pickup_code"]}, headers=store_world["staff"])
    assert resp.status_code == 200 and resp.get_json()["status"] == "picked_up"
    assert len(seen) <= CEILING[db.engine.dialect.name], "\n".join(s[:80] for s in seen)
