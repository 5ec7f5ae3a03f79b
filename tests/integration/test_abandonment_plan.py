"""With 200,000 carts (20,000 newly idle, the rest busy, already looked at or ordered), the
abandonment sweep's claim of the next 1,000 due reads the partial index: no step of its plan reads
`carts` whole or more than 2,000 of its rows. And a batch's enrolment checks the cool-down with a
probe per cart, not by reading the campaign's enrolments (which grow with every batch)."""

from __future__ import annotations

import pytest

from notifications.campaigns import demo
from shop.carts import abandonment
from shop.core import sweeps as runner
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


def test_a_batchs_enrolment_probes_the_cool_down_per_cart(app):
    store, product = f.store(), f.product(sku="MUG")
    demo.ensure_default()
    db.session.commit()
    seed_carts(6_000, 3_000, store.id, product.id, clock.now())
    for _ in range(4):  # 2,000 enrolled before
        runner.in_transaction(lambda: abandonment.find_abandoned(limit=500))
    with explained() as statements:
        assert runner.in_transaction(lambda: abandonment.find_abandoned(limit=500)) == 500
    [insert] = [item for item in statements if item.sql.lstrip().startswith("INSERT INTO campaign_enrolments")]
    assert wide_reads([insert], {"campaign_enrolments"}, 500) == []
