"""Double opt-in for marketing email: a yes is `pending` until the address confirms it.

Saying yes to offers by email (PUT /me/preferences, a guest at checkout, staff at the counter)
records a `pending` event and queues a confirmation mail (transactional: it goes like an order
mail) with a signed link. `consent.allowed` answers `confirmation_pending` until then, so no
marketing email goes. The link's GET shows a page with a button (mail scanners open links) and
its POST records the confirmation as its own `granted` event (source `email_confirmation`, the
pending event as reference). A link confirms only the choice it was sent for: when a newer choice
came since (a no, or another yes with its own link), it answers 409 `confirmation_superseded`.
Texts are not double opt-in: a number that texts STOP is blocked by the carrier anyway.
A yes never confirmed while its link lived (CONSENT_CONFIRM_MAX_AGE_SECONDS) lapses: the
`lapse_unconfirmed` sweep appends a `withdrawn` event (source `confirmation_expired`, the pending
event as reference), so the preferences stop saying pending forever; saying yes again sends a new link.
"""

from __future__ import annotations

import datetime as dt

from flask import Flask, current_app
from sqlalchemy import and_, exists, not_, or_, select
from sqlalchemy.orm import aliased

from notifications import consent
from notifications.consent_models import ConsentRecord
from notifications.outbox import enqueue
from shop.accounts.models import User
from shop.core import events, signed_links
from shop.core import sweeps as runner
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db

SALT = "marketing-email-confirmation"
TEMPLATE = "confirm_marketing_email"
CONFIRMED_WORDING = "Confirmed with the link in the confirmation email."
LAPSED_WORDING = "Not confirmed: the confirmation link expired unused."
LAPSE_BATCH = 500
LINK_CODES = ("confirmation_link_invalid", "confirmation_link_expired", "confirmation_superseded")


def make_url(pending: ConsentRecord) -> str:
    token = signed_links.dumps(SALT, {"r": pending.id, "a": pending.address})
    return f"{current_app.config['PUBLIC_BASE_URL']}/api/v1/consent/confirm/{token}"


def request_confirmation(source: str, wording: str, *, customer_id: int | None, email: str, reference: str = "",
        store_id: int | None = None, actor_id: int | None = None) -> ConsentRecord:
    """Record a yes to marketing email as pending and queue the mail that confirms it (never commits)."""
    pending = consent.record("email", "marketing", consent.PENDING, source, wording, customer_id=customer_id,
                             email=email, reference=reference, store_id=store_id, actor_id=actor_id)
    user = db.session.get(User, customer_id) if customer_id is not None else None
    days = current_app.config["CONSENT_CONFIRM_MAX_AGE_SECONDS"] // 86400
    enqueue(template=TEMPLATE, channel="email", purpose="transactional", to=pending.address,
            dedupe_key=f"{TEMPLATE}:consent-{pending.id}:0:email", customer_id=customer_id,
            context={"confirm_url": make_url(pending), "wording": wording, "valid_days": max(days, 1)},
            locale=(user.locale if user else None) or "en", timezone=user.timezone if user else None,
            later=True)  # not read back: at a checkout it goes (in order) with the "placed" message
    return pending


def read(token: str) -> ConsentRecord:
    """The pending event the link was made for; 404 if tampered, 410 if too old."""
    data = signed_links.loads(
        SALT, token, max_age_setting="CONSENT_CONFIRM_MAX_AGE_SECONDS", kind="confirmation",
        expired_detail="This confirmation link has expired: say yes to offers again for a new one.")
    pending = db.session.get(ConsentRecord, data.get("r")) if isinstance(data, dict) and isinstance(
        data.get("r"), int) else None
    if pending is None or pending.state != consent.PENDING or pending.address != data.get("a"):
        raise signed_links.invalid("confirmation")
    return pending


def confirmation_of(pending: ConsentRecord) -> ConsentRecord | None:
    return db.session.scalar(select(ConsentRecord).where(
        ConsentRecord.source == "email_confirmation", ConsentRecord.reference == f"consent:{pending.id}"))


def confirm(pending: ConsentRecord) -> ConsentRecord:
    """Record the confirmation (once; the same link again answers the same)."""
    done = confirmation_of(pending)
    if done is not None:
        return done
    last = consent.latest("email", "marketing", customer_id=pending.customer_id, address=pending.address)
    if last is None or last.id != pending.id:
        raise DomainError("confirmation_superseded",
                          "A newer choice about offers by email came after this one: nothing was changed.")
    return consent.record("email", "marketing", consent.GRANTED, "email_confirmation", CONFIRMED_WORDING,
                          customer_id=pending.customer_id, email=pending.address, reference=f"consent:{pending.id}")


def connect(app: Flask) -> None:
    """A yes to offers by email said outside the preferences (a guest at checkout) waits for its
    confirmation like any other; one already confirmed for that customer or address adds nothing."""

    def on_requested(sender, email, source, wording, customer_id=None, reference="", **_):
        address = consent.address_for("email", email)
        last = consent.latest("email", "marketing", customer_id=customer_id, address=address)
        if last is None or last.state != consent.GRANTED:
            request_confirmation(source, wording, customer_id=customer_id, email=email, reference=reference)

    events.marketing_email_requested.connect(on_requested, sender=app, weak=False)


def _unconfirmed(cutoff: dt.datetime):
    """Yes-to-offers-by-email events still pending at `cutoff`: nothing about the same customer or
    address came after them (a confirmation, a no, a new yes or a lapse would be newer), and not
    erased (a yes kept from before an erasure counts for nothing already)."""
    later = aliased(ConsentRecord)
    pending = ConsentRecord
    newer = exists().where(
        later.channel == "email", later.purpose == "marketing", later.id > pending.id,
        or_(and_(pending.customer_id.is_not(None), later.customer_id == pending.customer_id),
            and_(pending.address.is_not(None), later.address == pending.address)))
    return (select(pending).where(
        pending.channel == "email", pending.purpose == "marketing", pending.state == consent.PENDING,
        pending.occurred_at <= cutoff, pending.address.is_not(None),
        not_(pending.address.startswith(consent.ERASED_PREFIX)), ~newer)
        .order_by(pending.id).limit(LAPSE_BATCH))


def lapse_batch() -> int:
    """Record a batch of lapsed yeses (in the caller's transaction); how many."""
    cutoff = clock.now() - dt.timedelta(seconds=current_app.config["CONSENT_CONFIRM_MAX_AGE_SECONDS"])
    lapsed = list(db.session.scalars(_unconfirmed(cutoff)))
    for pending in lapsed:
        consent.record("email", "marketing", consent.WITHDRAWN, "confirmation_expired", LAPSED_WORDING,
                       customer_id=pending.customer_id, email=pending.address, reference=f"consent:{pending.id}")
    return len(lapsed)


def lapse_unconfirmed() -> int:
    """The sweep: every yes whose confirmation link expired unused is recorded as lapsed."""
    return runner.repeat("lapse_unconfirmed", lapse_batch)
