"""The demo's default campaign (issue 15): abandoned cart, email at 1 h, text at 24 h (marketing
text consent only), email at 72 h with a single-use 10% coupon valid 7 days; active."""

from __future__ import annotations

from sqlalchemy import select

from notifications.campaigns.models import EXITS, Campaign
from shop.core.clock import clock
from shop.core.extensions import db

NAME = "Abandoned cart"
HOUR = 60  # minutes
STEPS = [
    {"delay_minutes": 1 * HOUR, "channel": "email", "template": "abandoned_cart_1", "incentive": None},
    {"delay_minutes": 24 * HOUR, "channel": "sms", "template": "abandoned_cart_2", "incentive": None},
    {"delay_minutes": 72 * HOUR, "channel": "email", "template": "abandoned_cart_3",
     "incentive": {"kind": "percent", "value": 10, "valid_days": 7}},
]


def default_campaign() -> dict:
    return {"name": NAME, "trigger": "cart_abandoned", "steps": [dict(step) for step in STEPS],
            "audience": {"channels": [], "store_ids": [], "min_cart_value": None, "who": "any"},
            "exit_on": list(EXITS), "cooldown_days": 7, "attribution_days": 5}


def ensure_default() -> Campaign:
    """The default campaign, made active once (running the demo again changes nothing)."""
    found = db.session.scalar(select(Campaign).where(Campaign.name == NAME, Campaign.trigger == "cart_abandoned"))
    if found is not None:
        return found
    campaign = Campaign(status="active", activated_at=clock.now(), **default_campaign())
    db.session.add(campaign)
    db.session.flush()
    return campaign
