"""With 10,000 messages due and the sent ones of the past beside them, the delivery sweep's claim
finds its batch by index: no step of its plan reads `messages` whole, nor the whole backlog."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from notifications import delivery
from shop.core import plans
from shop.core.clock import clock
from shop.core.extensions import db
from tests.support.outbox_backlog import seed_messages
from tests.support.plans import explained, wide_reads

pytestmark = pytest.mark.postgres

DUE, SENT = 10_000, 5_000
MOST = 1_000  # rows the claim may read for a batch of 50: a tenth of the backlog


@pytest.fixture
def backlog(app):
    now = clock.now()
    seed_messages(SENT, now - dt.timedelta(days=2), status="sent", tag="past")
    seed_messages(DUE, now - dt.timedelta(hours=1), tag="due")
    db.session.commit()
    plans.analyze("messages")
    db.session.commit()


def test_the_claim_takes_a_batch_from_10000_due_messages_by_index(backlog):
    with explained() as statements:
        claimed, to_send = delivery.claim(delivery.BATCH, Counter())  # the sweep's own claim, nothing sent
    assert (claimed, len(to_send)) == (delivery.BATCH, delivery.BATCH)
    [claim] = [item for item in statements if "SKIP LOCKED" in item.sql]
    assert wide_reads([claim], {"messages"}, MOST) == []
