"""With 200,000 carts (20,000 newly idle, the rest busy, already looked at or ordered), the
abandonment sweep's claim of the next 1,000 due reads the partial index: no step of its plan reads
`carts` whole or more than 2,000 of its rows."""

from __future__ import annotations

import pytest

from shop.carts import abandonment
from shop.core.clock import clock
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.abandoned_carts import seed_carts
from tests.support.plans import explained, wide_reads

pytestmark = pytest.mark.postgres

TOTAL, IDLE, NEXT, MOST = 200_000, 20_000, 1_000, 2_000


@pytest.fixture
def many_carts(app):
    store, product = f.store(), f.product(sku="MUG")
    db.session.commit()
    seed_carts(TOTAL, IDLE, store.id, product.id, clock.now())


def test_the_next_1000_due_are_an_index_scan(many_carts):
    with explained() as statements:
        due = db.session.execute(abandonment.due(clock.now(), NEXT)).all()
    assert len(due) == NEXT
    db.session.rollback()
    [claim] = [item for item in statements if "SKIP LOCKED" in item.sql]
    assert any(node.get("Index Name") == "ix_carts_idle_unsignalled" for node in claim.nodes())
    assert wide_reads([claim], {"carts"}, MOST) == []
