"""The demo's campaigns (issue 15). Active: abandoned cart, email at 1 h, text at 24 h (marketing
text consent only), email at 72 h with a single-use 10% coupon valid 7 days. Drafts, as examples
marketing can edit and activate: the post-pickup follow-up (an email 14 days after the pickup with
recommendations and the feedback link) and the win-back of an expired order (an email a day later
with a single-use 10% coupon valid 14 days)."""

from __future__ import annotations

from sqlalchemy import select

from notifications.campaigns.models import EXITS, Campaign
from shop.core.clock import clock
from shop.core.extensions import db

NAME = "Abandoned cart"
HOUR = 60  # minutes
DAY = 24 * HOUR
STEPS = [
    {"delay_minutes": 1 * HOUR, "channel": "email", "template": "abandoned_cart_1", "incentive": None},
    {"delay_minutes": 24 * HOUR, "channel": "sms", "template": "abandoned_cart_2", "incentive": None},
    {"delay_minutes": 72 * HOUR, "channel": "email", "template": "abandoned_cart_3",
     "incentive": {"kind": "percent", "value": 10, "valid_days": 7}},
]
ANYONE = {"channels": [], "store_ids": [], "min_cart_value": None, "who": "any", "keyword": None}
# The examples, left as drafts: (name, trigger, steps, exits)
DRAFTS = [
    ("Post-pickup follow-up", "order_picked_up",
     [{"delay_minutes": 14 * DAY, "channel": "email", "template": "post_pickup_follow_up", "incentive": None}],
     ["unsubscribed"]),
    ("Win-back", "order_expired",
     [{"delay_minutes": 1 * DAY, "channel": "email", "template": "win_back",
       "incentive": {"kind": "percent", "value": 10, "valid_days": 14}}],
     ["order_placed", "unsubscribed"]),
]


def default_campaign() -> dict:
    return {"name": NAME, "trigger": "cart_abandoned", "steps": [dict(step) for step in STEPS],
            "audience": dict(ANYONE), "exit_on": list(EXITS), "cooldown_days": 7, "attribution_days": 5}


def draft_campaigns() -> list[dict]:
    return [{"name": name, "trigger": trigger, "steps": [dict(step) for step in steps], "audience": dict(ANYONE),
             "exit_on": list(exits), "cooldown_days": 7, "attribution_days": 5}
            for name, trigger, steps, exits in DRAFTS]


def _found(name: str, trigger: str) -> Campaign | None:
    return db.session.scalar(select(Campaign).where(Campaign.name == name, Campaign.trigger == trigger))


def ensure_default() -> Campaign:
    """The default campaign, made active once (running the demo again changes nothing)."""
    found = _found(NAME, "cart_abandoned")
    if found is not None:
        return found
    campaign = Campaign(status="active", activated_at=clock.now(), **default_campaign())
    db.session.add(campaign)
    db.session.flush()
    return campaign


def ensure_drafts() -> list[Campaign]:
    """The example campaigns, added as drafts once (one marketing changed or activated stays as it is)."""
    found = []
    for data in draft_campaigns():
        campaign = _found(data["name"], data["trigger"])
        if campaign is None:
            campaign = Campaign(status="draft", **data)
            db.session.add(campaign)
        found.append(campaign)
    db.session.flush()
    return found


def ensure_all() -> None:
    """What `flask shop demo` adds: the active abandoned-cart campaign and the drafts."""
    ensure_default()
    ensure_drafts()
