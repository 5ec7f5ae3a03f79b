"""The campaign in the soak: the demo's abandoned-cart campaign with its steps 1, 2 and 3 minutes after
the cart's last change (the demo's are 1 h, 24 h, 72 h; the cluster's carts are abandoned after 1
minute idle, so the first step is due as the cart is found), and a guest per second of soak whose cart
goes idle while the soak runs, each with an email that agreed to offers. The leader's sweeps find the carts
(`find_abandoned_carts`), enrol them and take the steps (`advance_campaigns`), and the outbox sweep
mails them to the cluster's SMTP server, alongside the orders' own messages.

What each guest gets, as in the demo: the first email; the text skipped (a guest with no phone:
`no_address`); the third email held by the marketing cap (one marketing email per 16 h per address).
"""

from __future__ import annotations

import datetime as dt

import psycopg

from cluster.world import SKUS, Cluster

DELAYS = (1, 2, 3)  # minutes after the cart's last change
IDLE_SHARE = 0.4  # the guests' carts go idle one after another over this share of the soak


def start(c: Cluster, seconds: float) -> int:
    """Activate the short campaign and seed its guests (one per second of soak, at least 20); their number."""
    from inventory.models import Product
    from notifications.campaigns import demo
    from notifications.campaigns.models import Campaign
    from shop.core.clock import clock
    from shop.core.extensions import db
    from tests.support.abandoned_carts import seed_carts

    guests = max(20, int(seconds))
    with c.app.app_context():
        data = demo.default_campaign()
        steps = [{**step, "delay_minutes": minutes} for step, minutes in zip(data["steps"], DELAYS, strict=True)]
        now = clock.now()
        db.session.add(Campaign(status="active", activated_at=now,
                                **{**data, "name": f"{demo.NAME} (soak: {', '.join(map(str, DELAYS))} min)",
                                   "steps": steps}))
        product_id = db.session.query(Product.id).filter_by(sku=SKUS[0]).scalar()
        db.session.commit()
        idle_since = now - dt.timedelta(seconds=int(c.env["CART_IDLE_SECONDS"]))  # the first goes idle now
        seed_carts(guests, guests, c.seed.store_ids["CLA"], product_id, now, tag="soak-guest", idle_since=idle_since,
                   spread=dt.timedelta(seconds=seconds * IDLE_SHARE))
        db.session.remove()
    return guests


def figures(c: Cluster) -> dict:
    """What the campaign did: enrolments by status, step runs by outcome (and reason), its messages by status."""
    with psycopg.connect(c.dsn, autocommit=True) as conn:
        enrolled = dict(conn.execute("SELECT status, count(*) FROM campaign_enrolments GROUP BY status").fetchall())
        runs = dict(conn.execute("SELECT 'step ' || step + 1 || ' ' || outcome || coalesce(' (' || reason || ')', ''), "
                                 "count(*) FROM campaign_step_runs GROUP BY 1 ORDER BY 1").fetchall())
        messages = dict(conn.execute("SELECT status, count(*) FROM messages WHERE purpose = 'marketing' "
                                     "GROUP BY status").fetchall())
        first_sent = conn.execute("SELECT count(*) FROM campaign_step_runs WHERE step = 0 AND outcome = 'sent'"
                                  ).fetchone()[0]
    return {"enrolled": enrolled, "runs": runs, "messages": messages, "first_sent": first_sent}
