"""The consent ledger and the one rule on whether a message may go (`allowed`, `allowed_many` for a
batch: one statement of the rule, `_decide`), used by every path.

The ledger is append-only: a change of mind is a new row, the latest row for a channel and purpose
wins. A row applies to a customer and to the address it was about, so a guest's opt-out (by link
or by text) holds once the address belongs to an account, and an account's choice follows the
customer to a new address.

Rules:
- transactional email goes unless withdrawn;
- an order text needs the order's `sms_updates` (recorded here as a checkout grant) and no STOP;
- marketing needs an explicit grant not later withdrawn; a marketing email yes is `pending` until
  the address confirms it by the link in a confirmation mail (double opt-in: notifications/opt_in.py);
- a STOP sent by text stops every text to that number, whatever was granted after it, until the
  number texts START: the carrier (Twilio) blocks the number until then anyway;
- START resumes order texts, and offers only if the customer's own last choice (on the web, the
  app, at a store, by a link) was yes: a START to get an order update is no yes to offers;
- after an erasure the ledger keeps its rows under `hmac:` + contact_hash(address): a later look-up
  by the same address (a new account, a guest order) still finds a no (an unsubscribe, a STOP) made
  before the erasure, never a yes: a yes went with the erasure and must be given again. STOP and
  START by text carry over both ways (they are the number's state at the carrier).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence

from flask import Flask, current_app
from marshmallow import ValidationError
from sqlalchemy import and_, or_, select

from notifications.consent_models import CHANNELS, PURPOSES, SOURCES, STATES, WORDING_MAX, ConsentRecord
from shop.accounts.contact import contact_hash, normalize_email, normalize_phone
from shop.accounts.models import User
from shop.core import events
from shop.core.extensions import db

GRANTED, WITHDRAWN, PENDING = STATES
TEXT_SOURCES = ("sms_reply", "sms_keyword")  # said by text message from the number itself
CHECKOUT_WORDING = "Text me updates about this order (checkout: sms_updates)."
HISTORY_LIMIT = 100
ERASED_PREFIX = "hmac:"  # an erased address in the ledger: "hmac:" + contact_hash(address)


@functools.lru_cache(maxsize=4096)  # pure, and asked twice per entrant of a campaign batch (key, consent)
def address_for(channel: str, value: str | None) -> str | None:
    """The ledger's spelling of an address: a normalised email or an E.164 phone. A value the
    normaliser refuses is kept trimmed (lower-cased for email): an opt-out is never lost to its spelling."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return normalize_email(value) if channel == "email" else normalize_phone(value)
    except ValidationError:
        return value.lower() if channel == "email" else value


def _via(channel: str, source: str) -> str:
    """The timeline channel of a consent event: where the customer said it."""
    if source in ("web", "app", "store"):
        return source
    if source == "staff":
        return "store"
    return "sms" if source in TEXT_SOURCES else channel


def describe(channel: str, purpose: str) -> str:
    """What a channel and purpose are called to people: "marketing emails", "order texts"."""
    return f"{'order' if purpose == 'transactional' else purpose} {'emails' if channel == 'email' else 'texts'}"


STATE_WORDS = {GRANTED: "agreed", WITHDRAWN: "withdrawn", PENDING: "agreed, awaiting confirmation by email"}


def _summary(channel: str, purpose: str, state: str, source: str, actor_id: int | None) -> str:
    by = f", recorded by staff #{actor_id}" if actor_id is not None else ""
    return f"{describe(channel, purpose).capitalize()}: {STATE_WORDS[state]} ({source.replace('_', ' ')}{by})"


def record(channel: str, purpose: str, state: str, source: str, wording: str, *, customer_id: int | None = None,
           email: str | None = None, phone: str | None = None, reference: str = "", store_id: int | None = None,
           actor_id: int | None = None) -> ConsentRecord:
    """Append one consent event (never commits). The address kept is the one of the channel; staff
    recording it at a counter are the actor, at that store."""
    if channel not in CHANNELS or purpose not in PURPOSES or state not in STATES or source not in SOURCES:
        raise ValueError(f"unknown consent event {channel}/{purpose}/{state}/{source}")
    address = address_for(channel, email if channel == "email" else phone)
    if customer_id is None and address is None:
        raise ValueError("a consent event needs a customer or an address")
    entry = ConsentRecord(customer_id=customer_id, address=address, channel=channel, purpose=purpose,
                          state=state, source=source, wording=wording[:WORDING_MAX], reference=reference[:100],
                          store_id=store_id, actor_id=actor_id)
    db.session.add(entry)
    db.session.flush()  # its id: a confirmation link names the pending event
    if customer_id is not None:
        events.consent_changed.send(current_app._get_current_object(), customer_id=customer_id,
                                    type=f"consent.{state}", via=_via(channel, source),
                                    summary=_summary(channel, purpose, state, source, actor_id), reference=reference)
    return entry


def erased_form(address: str | None) -> str | None:
    """How the ledger spells this address once its owner had it erased (shop.accounts.privacy)."""
    return ERASED_PREFIX + contact_hash(address) if address else None


def _is_erased(address: str | None) -> bool:
    return address is not None and address.startswith(ERASED_PREFIX)


class _Ledger:
    """The events on one channel about a batch of people (customers, addresses, and the erased form
    of each address), read in one query, newest first: what `allowed_many` and `latest` decide from."""

    def __init__(self, channel: str, people: Sequence[tuple[int | None, str | None]]) -> None:
        customers = sorted({customer_id for customer_id, _ in people if customer_id is not None})
        addresses = sorted({form for _, address in people if address for form in (address, erased_form(address))})
        terms = ([ConsentRecord.customer_id.in_(customers)] if customers else []) + (
            [ConsentRecord.address.in_(addresses)] if addresses else [])
        records = list(db.session.scalars(
            select(ConsentRecord).where(ConsentRecord.channel == channel, or_(*terms))
            .order_by(ConsentRecord.id.desc()))) if terms else []
        self._by_customer: dict[int, list[ConsentRecord]] = defaultdict(list)
        self._by_address: dict[str, list[ConsentRecord]] = defaultdict(list)
        for entry in records:
            if entry.customer_id is not None:
                self._by_customer[entry.customer_id].append(entry)
            if entry.address is not None:
                self._by_address[entry.address].append(entry)

    def about(self, customer_id: int | None, address: str | None) -> list[ConsentRecord]:
        """The events about this customer or this address (or its erased form), newest first."""
        found = {entry.id: entry for entry in self._by_customer.get(customer_id, ())} if customer_id is not None else {}
        if address is not None:
            for form in (address, erased_form(address)):
                found.update((entry.id, entry) for entry in self._by_address.get(form, ()))
        return sorted(found.values(), key=lambda entry: entry.id, reverse=True)


def _newest(about: list[ConsentRecord], purpose: str, customer_id: int | None,
            address: str | None) -> ConsentRecord | None:
    """`latest`'s rule over the events about them: a yes kept from before an erasure does not count."""
    mine = [entry for entry in about if entry.purpose == purpose]
    last = mine[0] if mine else None
    if last is not None and last.state in (GRANTED, PENDING) and _is_erased(last.address):
        last = next((entry for entry in mine if not _is_erased(entry.address) and (
            (customer_id is not None and entry.customer_id == customer_id)
            or (address is not None and entry.address == address))), None)
    return last


def _stopped(about: list[ConsentRecord], phone: str | None) -> bool:
    """The number's last word by text (any purpose, before an erasure or after) was STOP."""
    if phone is None:
        return False
    said = [entry for entry in about if entry.source in TEXT_SOURCES and entry.address in (phone, erased_form(phone))]
    return bool(said) and said[0].state == WITHDRAWN


def latest(channel: str, purpose: str, *, customer_id: int | None = None,
           address: str | None = None) -> ConsentRecord | None:
    """The newest event for this channel and purpose about the customer or the address. A yes (or a
    yes awaiting its confirmation) kept from before an erasure does not count (a no does): then the
    newest event not erased decides."""
    about = _Ledger(channel, [(customer_id, address)]).about(customer_id, address)
    return _newest(about, purpose, customer_id, address)


def stopped_by_text(phone: str | None) -> bool:
    """Did this number text STOP (and not START since), before an erasure or after?"""
    return phone is not None and _stopped(_Ledger("sms", [(None, phone)]).about(None, phone), phone)


def _decide(about: list[ConsentRecord], channel: str, purpose: str, customer_id: int | None, address: str | None,
            order_sms_updates: bool | None) -> tuple[bool, str | None]:
    """The rule (see the module's docstring), over the events about one person on the channel."""
    if channel == "sms" and _stopped(about, address):
        return False, "sms_stopped"
    last = _newest(about, purpose, customer_id, address)
    if last is not None and last.state == WITHDRAWN:
        return False, "unsubscribed"
    if last is not None and last.state == PENDING:
        return False, "confirmation_pending"
    if purpose == "marketing":
        return (True, None) if last is not None else (False, "no_marketing_consent")
    if channel == "sms" and order_sms_updates is None:
        return (True, None) if last is not None else (False, "no_sms_consent")
    if channel == "sms" and not order_sms_updates:
        return False, "no_sms_updates"
    return True, None


def allowed_many(channel: str, purpose: str, people: Sequence[tuple[int | None, str | None, str | None]],
                 order_sms_updates: bool | None = None) -> list[tuple[bool, str | None]]:
    """`allowed` for each (customer_id, email, phone) of a batch, in one query (a campaign's enrolment
    checks hundreds at once)."""
    spelled = [(customer_id, address_for(channel, email if channel == "email" else phone))
               for customer_id, email, phone in people]
    ledger = _Ledger(channel, spelled)
    return [_decide(ledger.about(customer_id, address), channel, purpose, customer_id, address, order_sms_updates)
            for customer_id, address in spelled]


def allowed(channel: str, purpose: str, *, customer_id: int | None = None, email: str | None = None,
            phone: str | None = None, order_sms_updates: bool | None = None) -> tuple[bool, str | None]:
    """May a message on this channel for this purpose go to them now? (ok, reason when not).

    `order_sms_updates` is the order's own choice for an order text; None for any other text."""
    return allowed_many(channel, purpose, [(customer_id, email, phone)], order_sms_updates)[0]


def customers_at(channel: str, address: str) -> list[int]:
    """The customers whose account has this email or phone (a shared phone: several)."""
    column = User.email if channel == "email" else User.phone
    return list(db.session.scalars(
        select(User.id).where(User.role == "customer", column == address).order_by(User.id)))


def record_for_address(channel: str, purpose: str, state: str, source: str, wording: str, address: str,
                       reference: str = "") -> None:
    """An event said by whoever holds the address (a text, a link): one row per customer who has
    it, so each one's timeline and history show it, or one row for the bare address."""
    key = "email" if channel == "email" else "phone"
    for customer_id in customers_at(channel, address) or [None]:
        record(channel, purpose, state, source, wording, customer_id=customer_id, reference=reference,
               **{key: address})


def stop_texts(phone: str, wording: str, reference: str = "") -> None:
    """A STOP by text: every purpose withdrawn for the number."""
    for purpose in PURPOSES:
        record_for_address("sms", purpose, WITHDRAWN, "sms_reply", wording, phone, reference)


def resume_texts(phone: str, wording: str, reference: str = "") -> None:
    """A START by text: order texts again; offers only if the last choice not made by text was yes."""
    record_for_address("sms", "transactional", GRANTED, "sms_reply", wording, phone, reference)
    customers = customers_at("sms", phone)
    chosen = db.session.scalar(
        select(ConsentRecord.state)
        .where(ConsentRecord.channel == "sms", ConsentRecord.purpose == "marketing",
               ConsentRecord.source.not_in(TEXT_SOURCES),
               or_(ConsentRecord.address == phone, ConsentRecord.customer_id.in_(customers)))
        .order_by(ConsentRecord.id.desc()).limit(1))
    if chosen == GRANTED:
        record_for_address("sms", "marketing", GRANTED, "sms_reply", wording + " (offers: as agreed before)",
                           phone, reference)


def history(customer: User, limit: int = HISTORY_LIMIT) -> list[ConsentRecord]:
    """The events about the customer or their current email and phone, newest first."""
    about = [ConsentRecord.customer_id == customer.id]
    for channel, address in (("email", customer.email), ("sms", customer.phone)):
        if address:
            about.append(and_(ConsentRecord.channel == channel, ConsentRecord.address == address_for(channel, address)))
    return list(db.session.scalars(
        select(ConsentRecord).where(or_(*about)).order_by(ConsentRecord.id.desc()).limit(limit)))


def preferences(customer: User) -> list[dict]:
    """Per channel and purpose: the latest event and what `allowed` says now (order texts without
    an order: whether the ledger holds a yes)."""
    rows = []
    for channel in CHANNELS:
        address = customer.email if channel == "email" else customer.phone
        for purpose in PURPOSES:
            last = latest(channel, purpose, customer_id=customer.id, address=address_for(channel, address))
            ok, reason = allowed(channel, purpose, customer_id=customer.id, email=customer.email,
                                 phone=customer.phone)
            rows.append({"channel": channel, "purpose": purpose, "allowed": ok, "reason": reason,
                         "state": last.state if last else None, "since": last.occurred_at if last else None,
                         "source": last.source if last else None})
    return rows


def connect(app: Flask) -> None:
    """An order placed with `sms_updates` is a yes to that number's order texts (said at checkout)."""

    def on_placed(sender, order_id, customer_id=None, phone=None, sms_updates=False, **_):
        if not (phone and sms_updates):
            return
        last = latest("sms", "transactional", customer_id=customer_id, address=address_for("sms", phone))
        if last is None or last.state != GRANTED:
            record("sms", "transactional", GRANTED, "checkout", CHECKOUT_WORDING, customer_id=customer_id,
                   phone=phone, reference=f"order:{order_id}")

    events.order_placed.connect(on_placed, sender=app, weak=False)
