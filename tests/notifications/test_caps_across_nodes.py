"""Marketing caps hold when two delivery sweeps (two nodes) claim at the same moment: each claimed
a different message for the same customers, and still only one marketing mail per customer goes
within the cap window (PostgreSQL, real threads, each sweep on its own connections)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from notifications import consent, pacing
from notifications.delivery import deliver_due
from notifications.outbox import enqueue
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.messages import outbox

CUSTOMERS = 12
OFFER = {"body": "", "cta_label": "", "cta_url": ""}


@pytest.mark.postgres
def test_two_sweeps_at_once_never_send_two_marketing_mails_to_one_customer(app, wide_app, smtp_server, monkeypatch):
    users = [f.user("customer") for _ in range(CUSTOMERS)]
    for user in users:
        consent.record("email", "marketing", "granted", "web", "Offers by email", customer_id=user.id)
    db.session.commit()
    deliver_due()  # the sign-up verifications, out of the way
    smtp_server.received.clear()
    for n in (1, 2):  # every customer's first offer, then every customer's second
        for user in users:
            enqueue(template="promotion", channel="email", purpose="marketing", to=user.email, customer_id=user.id,
                    dedupe_key=f"promo:{n}:{user.id}:email", context={**OFFER, "headline": f"Offer {n}"})
    db.session.commit()

    checked = pacing.cap_until

    def slow_cap_check(message, now):  # widen each claim transaction, so the two claims overlap
        time.sleep(0.02)
        return checked(message, now)

    monkeypatch.setattr(pacing, "cap_until", slow_cap_check)
    wide_app.config.update(smtp_server.config())
    barrier, results = threading.Barrier(2), []

    def sweep():
        with wide_app.app_context():
            barrier.wait()
            results.append(deliver_due(limit=CUSTOMERS))  # one sweep claims the first offers, the other the second

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    per_customer = Counter(m["To"] for m in smtp_server.received)
    assert per_customer == {user.email: 1 for user in users}, results
    promos = outbox(template="promotion")
    assert Counter((m.status, m.reason) for m in promos) == {("sent", None): CUSTOMERS,
                                                             ("held", "marketing_cap"): CUSTOMERS}
