"""With 100,000 enrolments (a tenth active), an order's exit by a guest's email reads the partial
index on active enrolments' contact (with the cart's and customer's indexes): no step of its plan
reads `campaign_enrolments` whole or more than 100 of its rows, and it exits only that guest's.
(Without that index PostgreSQL walks the whole (campaign_id, contact) unique index instead: as many
entries as there are active enrolments, per order placed.)"""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from notifications.campaigns.enrolment import exit_where
from notifications.campaigns.models import Campaign, Enrolment
from shop.core import database
from shop.core.clock import clock
from shop.core.extensions import db
from tests.support.plans import explained, wide_reads

pytestmark = pytest.mark.postgres

TOTAL, MOST = 100_000, 100
_ENROLMENTS = text("""
INSERT INTO campaign_enrolments (campaign_id, subject, contact, customer_id, cart_id, email, facts, anchor_at,
                                 next_step, next_due_at, status, reason, created_at)
SELECT :campaign_id, 'stock_alert:' || g, 'email:guest-' || g || '@example.com', NULL, NULL,
       'guest-' || g || '@example.com', '{}', :now, 0,
       CASE WHEN g % 10 = 0 THEN :now END,
       CASE WHEN g % 10 = 0 THEN 'active' ELSE 'completed' END,
       CASE WHEN g % 10 = 0 THEN NULL ELSE 'all_steps_taken' END, :now
FROM generate_series(1, :total) AS g
""")


@pytest.fixture
def many_enrolments(app):
    campaign = Campaign(name="Still want it?", trigger="back_in_stock", status="active", audience={},
                        steps=[{"delay_minutes": 2880, "channel": "email", "template": "back_in_stock_follow_up"}],
                        exit_on=["order_placed"])
    db.session.add(campaign)
    db.session.commit()
    with db.engine.connect() as conn, database.unlimited(conn):
        conn.execute(_ENROLMENTS, {"campaign_id": campaign.id, "now": clock.now(), "total": TOTAL})
        conn.execute(text("ANALYZE campaign_enrolments"))
        conn.commit()


def test_an_orders_exit_by_a_guests_email_is_an_index_scan(many_enrolments):
    with explained() as statements:
        exited = exit_where("order_placed", cart_id="a-cart-never-enrolled", customer_id=424242,
                            email="Guest-500@Example.com")
    assert exited == 1
    assert any(node.get("Index Name") == "ix_campaign_enrolments_active_contact"
               for item in statements for node in item.nodes())
    assert wide_reads(statements, {"campaign_enrolments"}, MOST) == []
    [row] = db.session.scalars(select(Enrolment).where(Enrolment.status == "exited"))
    assert (row.email, row.reason) == ("guest-500@example.com", "order_placed")
