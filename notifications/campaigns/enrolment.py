"""Entering and leaving campaigns: `enrol_many` / `enrol` (any trigger), `exit_where` (an exit condition met).

`enrol_many` is the engine's one door: a trigger's receiver (a batch of abandoned carts; through
`enrol`, a pickup, an expiry, a back-in-stock subscriber told, a keyword confirmed) calls it with
the subjects and their contacts, and each active campaign of that trigger whose audience matches
gets one enrolment per subject, unless the subject or the contact entered it within its cool-down.
It writes in the caller's transaction, never sends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import and_, bindparam, exists, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from notifications import consent
from notifications.campaigns.models import Campaign, Enrolment
from shop.core import appends
from shop.core.clock import clock
from shop.core.extensions import db
from shop.core.json_rows import json_rows
from shop.core.plans import prepared

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_CACHE = "omnishop.campaigns.active"  # session.info: (transaction, {trigger: campaigns})
_ROW_COLUMNS = ("subject", "contact", "customer_id", "cart_id", "order_id", "store_id", "email", "phone", "facts",
                "anchor_at", "next_due_at")  # per row of a batch; the rest is the campaign's


def contact_key(customer_id: int | None, email: str | None, phone: str | None) -> str | None:
    """Who a cool-down counts: the account, else the email, else the phone."""
    if customer_id is not None:
        return f"customer:{customer_id}"
    if email:
        return f"email:{consent.address_for('email', email)}"
    if phone:
        return f"sms:{consent.address_for('sms', phone)}"
    return None


@dataclass(frozen=True)
class Entrant:
    """A subject offered to a trigger's campaigns ("cart:<id>", "order:<id>", ...), its contact, and
    `at`, when the trigger happened (step delays count from it; default now); `facts` are what the
    messages may show."""

    subject: str
    customer_id: int | None = None
    email: str | None = None
    phone: str | None = None
    store_id: int | None = None
    cart_id: str | None = None
    order_id: int | None = None
    at: dt.datetime | None = None
    facts: dict = field(default_factory=dict)

    def address(self, channel: str) -> str | None:
        return self.email if channel == "email" else self.phone


def fits(campaign: Campaign, entrant: Entrant) -> bool:
    """The audience filter but consent: who (customer, guest, any), stores, the texted keyword (an
    sms_keyword campaign), minimum cart value."""
    audience, facts = campaign.audience or {}, entrant.facts
    who = audience.get("who", "any")
    if (who == "customer" and entrant.customer_id is None) or (who == "guest" and entrant.customer_id is not None):
        return False
    if audience.get("store_ids") and entrant.store_id not in audience["store_ids"]:
        return False
    if audience.get("keyword") and audience["keyword"] != facts.get("keyword"):
        return False
    minimum = audience.get("min_cart_value")
    return minimum is None or (facts.get("subtotal") or facts.get("total") or 0) >= minimum  # cart, or order


def channels(campaign: Campaign) -> list[str]:
    """The channels one of which needs consent: the audience's, else those of its steps."""
    return (campaign.audience or {}).get("channels") or sorted({step["channel"] for step in campaign.steps})


class _Reach:
    """Marketing consent per channel for a batch of entrants, asked once per channel
    (`consent.allowed_many`) whatever the number of campaigns."""

    def __init__(self, entrants: list[Entrant]) -> None:
        self._entrants, self._allowed = entrants, {}

    def _on(self, channel: str) -> dict[int, bool]:
        if channel not in self._allowed:
            asked = [n for n, entrant in enumerate(self._entrants) if entrant.address(channel)]
            said = consent.allowed_many(channel, "marketing", [
                (self._entrants[n].customer_id, self._entrants[n].email, self._entrants[n].phone) for n in asked])
            self._allowed[channel] = {n: ok for n, (ok, _) in zip(asked, said, strict=True)}
        return self._allowed[channel]

    def reachable(self, n: int, on: list[str]) -> bool:
        """Is one of these channels open for marketing to entrant `n` (an address and consent)?"""
        return any(self._on(channel).get(n, False) for channel in on)


def _out_of_cooldown(campaign: Campaign, batch, now: dt.datetime):
    """No enrolment of the batch row's subject, nor of its contact, within the cool-down (or still
    active). Two probes per row, each through its index ((campaign, subject), (campaign, contact));
    OFFSET 0 keeps them probes: made joins, PostgreSQL compared every row of the batch with every
    enrolment of the campaign (it guesses 100 rows for a JSON batch, whatever its size)."""
    since = now - dt.timedelta(days=campaign.cooldown_days)

    def recent(match):
        return ~exists(select(Enrolment.id).where(Enrolment.campaign_id == campaign.id, match, or_(
            Enrolment.created_at > since, Enrolment.status == "active")).offset(0))

    return and_(recent(Enrolment.subject == batch.c.subject), recent(Enrolment.contact == batch.c.contact))


def _jsonable(facts: dict) -> dict:
    return {key: value.isoformat() if isinstance(value, dt.datetime) else value for key, value in facts.items()}


_ACTIVE = select(Campaign).where(Campaign.trigger == bindparam("trigger"), Campaign.status == "active").order_by(
    Campaign.id)  # built once


def _this_transaction() -> dict[str, list[Campaign]]:
    """The active campaigns read in this transaction, by trigger."""
    session = db.session()
    current = session.get_transaction()
    cached = session.info.get(_CACHE)
    if cached is None or cached[0] is not current:
        cached = session.info[_CACHE] = (current, {})
    return cached[1]


def active_campaigns(trigger: str) -> list[Campaign]:
    """The active campaigns of a trigger, read once per transaction (a sweep's batch enrols hundreds)."""
    known = _this_transaction()
    if trigger not in known:
        with prepared(db.session):  # a few rows of a small table, on every order pickup and expiry
            known[trigger] = list(db.session.scalars(_ACTIVE, {"trigger": trigger}))
    return known[trigger]


def _with_campaigns(trigger: str, then: Callable[[list[Campaign]], object]) -> None:
    """`then(active_campaigns(trigger))`, the read riding with an open `together()` block's writes
    (appends.read_after; an order's move: a statement fewer per pickup or expiry) and `then` run
    after them. No such block writes campaigns, so none changes the answer."""
    known = _this_transaction()
    if trigger in known:
        then(known[trigger])
        return

    def answer(rows):
        known[trigger] = [row[0] for row in rows]
        then(known[trigger])

    appends.read_after(_ACTIVE, {"trigger": trigger}, answer, rows=True)


def _insert(campaign: Campaign, chosen: list[tuple[Entrant, str]], now: dt.datetime) -> list[int]:
    """One statement for the batch: insert each row unless cooling down (INSERT ... SELECT ... WHERE
    NOT EXISTS), and nothing where an enrolment holds a unique key (ON CONFLICT DO NOTHING: a racing
    scheduler, a repeated signal, or an earlier row of this batch with the same contact)."""
    first = dt.timedelta(minutes=campaign.steps[0]["delay_minutes"])
    rows = []
    for entrant, contact in chosen:
        anchor = entrant.at or now
        rows.append({"subject": entrant.subject[:80], "contact": contact[:270], "customer_id": entrant.customer_id,
                     "cart_id": entrant.cart_id, "order_id": entrant.order_id, "store_id": entrant.store_id,
                     "email": entrant.email, "phone": entrant.phone, "facts": _jsonable(entrant.facts),
                     "anchor_at": anchor, "next_due_at": anchor + first})
    table = Enrolment.__table__.c
    batch = json_rows(rows, {name: table[name].type for name in _ROW_COLUMNS})
    constants = {"campaign_id": campaign.id, "next_step": 0, "status": "active", "created_at": now}
    values = select(*(batch.c[name] for name in _ROW_COLUMNS),
                    *(literal(value, table[name].type) for name, value in constants.items())
                    ).where(_out_of_cooldown(campaign, batch, now))
    insert = _INSERTS[db.session.get_bind().dialect.name]
    return list(db.session.scalars(insert(Enrolment.__table__).from_select([*_ROW_COLUMNS, *constants], values)
                                   .on_conflict_do_nothing().returning(Enrolment.id)))


def _keyed(entrants: list[Entrant]) -> list[tuple[Entrant, str]]:
    """The entrants with a contact, and its key: one without enters nothing."""
    return [(entrant, key) for entrant in entrants
            if (key := contact_key(entrant.customer_id, entrant.email, entrant.phone)) is not None]


def _enrol(campaigns: list[Campaign], keyed: list[tuple[Entrant, str]], now: dt.datetime) -> list[int]:
    reach = _Reach([entrant for entrant, _ in keyed])
    added = []
    for campaign in campaigns:
        if not campaign.steps:
            continue
        on = channels(campaign)
        chosen = [(entrant, key) for n, (entrant, key) in enumerate(keyed)
                  if fits(campaign, entrant) and reach.reachable(n, on)]
        if chosen:
            added.extend(_insert(campaign, chosen, now))
    return added


def enrol_many(trigger: str, entrants: list[Entrant]) -> list[int]:
    """Enrol each entrant in every active campaign of `trigger` whose audience it matches and whose
    cool-down its subject and contact are out of, in the caller's transaction; an entrant without a
    contact enters nothing. Per campaign one INSERT for the whole batch, and consent read once per
    channel: what enrolling them one by one, in this order, would give. Returns the new enrolments'
    ids (none for an entrant a race, a repeated signal or an earlier entrant with its contact got there first)."""
    keyed = _keyed(entrants)
    return _enrol(active_campaigns(trigger), keyed, clock.now()) if keyed else []


def enrol(trigger: str, subject: str, *, facts: dict | None = None, **who) -> None:
    """`enrol_many` for one subject (a pickup, an expiry, a subscriber told, a keyword confirmed);
    `who` are the other fields of an `Entrant`. Inside a `together()` block (an order's move) the
    campaigns are read with the block's writes and the enrolments written after them, in the same
    transaction."""
    keyed = _keyed([Entrant(subject, facts=facts or {}, **who)])
    if keyed:
        now = clock.now()
        _with_campaigns(trigger, lambda campaigns: _enrol(campaigns, keyed, now))


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
