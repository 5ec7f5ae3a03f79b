"""Entering and leaving campaigns: `enrol` (any trigger), `exit_where` (an exit condition met).

`enrol` is the engine's one door: a trigger's receiver (an abandoned cart, a pickup, an expiry,
a back-in-stock subscriber told, a keyword confirmed) calls it with the subject and its contact, and each active
campaign of that trigger whose audience matches gets one enrolment, unless the subject or the
contact entered it within its cool-down. It writes in the caller's transaction, never sends.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, bindparam, exists, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from notifications import consent
from notifications.campaigns.models import Campaign, Enrolment
from shop.core.clock import clock
from shop.core.extensions import db

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_CACHE = "omnishop.campaigns.active"  # session.info: (transaction, {trigger: campaigns})


def contact_key(customer_id: int | None, email: str | None, phone: str | None) -> str | None:
    """Who a cool-down counts: the account, else the email, else the phone."""
    if customer_id is not None:
        return f"customer:{customer_id}"
    if email:
        return f"email:{consent.address_for('email', email)}"
    if phone:
        return f"sms:{consent.address_for('sms', phone)}"
    return None


def reachable(channels: list[str], *, customer_id: int | None, email: str | None, phone: str | None) -> bool:
    """Is one of these channels open for marketing to them (an address and consent)?"""
    for channel in channels:
        address = email if channel == "email" else phone
        if address and consent.allowed(channel, "marketing", customer_id=customer_id, email=email, phone=phone)[0]:
            return True
    return False


def matches(campaign: Campaign, *, customer_id: int | None, email: str | None, phone: str | None,
            store_id: int | None, facts: dict) -> bool:
    """The campaign's audience filter: who (customer, guest, any), stores, the texted keyword (an
    sms_keyword campaign), minimum cart value, and a channel with consent (the audience's channels,
    else those of its steps)."""
    audience = campaign.audience or {}
    who = audience.get("who", "any")
    if (who == "customer" and customer_id is None) or (who == "guest" and customer_id is not None):
        return False
    if audience.get("store_ids") and store_id not in audience["store_ids"]:
        return False
    if audience.get("keyword") and audience["keyword"] != facts.get("keyword"):
        return False
    minimum = audience.get("min_cart_value")
    if minimum is not None and (facts.get("subtotal") or facts.get("total") or 0) < minimum:  # cart, or order
        return False
    channels = audience.get("channels") or sorted({step["channel"] for step in campaign.steps})
    return reachable(channels, customer_id=customer_id, email=email, phone=phone)


def _cooling(campaign: Campaign, subject: str, contact: str, now: dt.datetime):
    """An enrolment of this subject or contact within the cool-down (or still active)."""
    since = now - dt.timedelta(days=campaign.cooldown_days)
    return exists().where(Enrolment.campaign_id == campaign.id,
                          or_(Enrolment.subject == subject, Enrolment.contact == contact),
                          or_(Enrolment.created_at > since, Enrolment.status == "active"))


def _jsonable(facts: dict) -> dict:
    return {key: value.isoformat() if isinstance(value, dt.datetime) else value for key, value in facts.items()}


def active_campaigns(trigger: str) -> list[Campaign]:
    """The active campaigns of a trigger, read once per transaction (a sweep's batch enrols hundreds)."""
    session = db.session()
    current = session.get_transaction()
    cached = session.info.get(_CACHE)
    if cached is None or cached[0] is not current:
        cached = session.info[_CACHE] = (current, {})
    if trigger not in cached[1]:
        cached[1][trigger] = list(db.session.scalars(
            select(Campaign).where(Campaign.trigger == trigger, Campaign.status == "active").order_by(Campaign.id)))
    return cached[1][trigger]


def enrol(trigger: str, subject: str, *, customer_id: int | None = None, email: str | None = None,
          phone: str | None = None, store_id: int | None = None, cart_id: str | None = None,
          order_id: int | None = None, at: dt.datetime | None = None, facts: dict | None = None) -> list[Enrolment]:
    """Enrol `subject` ("cart:<id>", "order:<id>", ...) in every active campaign of `trigger` whose
    audience it matches and whose cool-down it is out of. `at` is when the trigger happened (step
    delays count from it; default now); `facts` are what the messages may show. Returns the new
    enrolments (none when a race or a repeated signal found one there already)."""
    facts = facts or {}
    contact = contact_key(customer_id, email, phone)
    if contact is None:
        return []
    now = clock.now()
    anchor = at or now
    added = []
    for campaign in active_campaigns(trigger):
        if not campaign.steps or not matches(campaign, customer_id=customer_id, email=email, phone=phone,
                                             store_id=store_id, facts=facts):
            continue
        values = {"campaign_id": campaign.id, "subject": subject[:80], "contact": contact[:270],
                  "customer_id": customer_id, "cart_id": cart_id, "order_id": order_id, "store_id": store_id,
                  "email": email, "phone": phone, "facts": _jsonable(facts), "anchor_at": anchor, "next_step": 0,
                  "next_due_at": anchor + dt.timedelta(minutes=campaign.steps[0]["delay_minutes"]),
                  "status": "active", "created_at": now}
        # One statement: insert unless cooling down (INSERT ... SELECT ... WHERE NOT EXISTS), and
        # nothing if a racing enrolment holds the unique key (ON CONFLICT DO NOTHING).
        columns = Enrolment.__table__.c
        row_values = select(*(literal(value, columns[name].type) for name, value in values.items())).where(
            ~_cooling(campaign, subject, contact, now))
        insert = _INSERTS[db.session.get_bind().dialect.name]
        row = db.session.scalar(insert(Enrolment).from_select(list(values), row_values).on_conflict_do_nothing()
                                .returning(Enrolment))
        if row is not None:
            added.append(row)
    return added


def end(enrolment: Enrolment, status: str, reason: str) -> None:
    """Close one enrolment: exited (an exit condition, the subject gone) or completed (no step left)."""
    enrolment.status, enrolment.reason = status, reason
    enrolment.ended_at, enrolment.next_due_at = clock.now(), None


# Whom an exit reaches: the cart, the customer, a guest's email or phone (as `contact_key` names
# them); a name left out is bound as NULL and matches nothing. Built once (`exit_params` binds it).
ACTIVE_OF = and_(Enrolment.status == "active",
                 or_(Enrolment.cart_id == bindparam("cart_id"), Enrolment.customer_id == bindparam("customer_id"),
                     Enrolment.contact.in_([bindparam("email_key"), bindparam("phone_key")])))
_ACTIVE_EXITS = select(Enrolment.id, Campaign.exit_on).join(Campaign, Campaign.id == Enrolment.campaign_id).where(
    ACTIVE_OF)


def exit_params(*, cart_id: str | None = None, customer_id: int | None = None, email: str | None = None,
                phone: str | None = None) -> dict | None:
    """ACTIVE_OF's parameters for these names; None when no name is given (nobody to exit)."""
    params = {"cart_id": cart_id, "customer_id": customer_id,
              "email_key": contact_key(None, email, None) if email else None,
              "phone_key": contact_key(None, None, phone) if phone else None}
    return params if any(value is not None for value in params.values()) else None


def exit_where(reason: str, *, cart_id: str | None = None, customer_id: int | None = None,
               email: str | None = None, phone: str | None = None) -> int:
    """Exit the active enrolments of this cart, or of this contact (the customer; a guest's email or
    phone, as `contact_key` names them), in campaigns that exit on `reason`."""
    params = exit_params(cart_id=cart_id, customer_id=customer_id, email=email, phone=phone)
    if params is None:
        return 0
    ids = [row.id for row in db.session.execute(_ACTIVE_EXITS, params) if reason in (row.exit_on or [])]
    if not ids:
        return 0
    now = clock.now()
    db.session.execute(update(Enrolment).where(Enrolment.id.in_(ids), Enrolment.status == "active")
                       .values(status="exited", reason=reason, ended_at=now, next_due_at=None)
                       .execution_options(synchronize_session="fetch"))
    return len(ids)
