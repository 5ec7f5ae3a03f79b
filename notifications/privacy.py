"""Data rights for what notifications hold: the messages, the consent ledger, back-in-stock alerts and
keyword opt-ins (docs/security.md).

Export: every message to the customer or their contacts, and their consent history. Erasure: a
message still waiting is skipped, and every message loses its address and content; stock alerts
and keyword opt-ins of the customer or their contacts are deleted (the consent they gave stays in
the ledger, as below); the consent
ledger keeps each event as proof, but its address becomes `hmac:` + the HMAC the erasure passes
(migration 2f4a9c7e1b30 lets PostgreSQL's append-only trigger allow exactly that change); what a
later look-up by the address makes of those rows is notifications.consent's rule.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import delete, or_, select, update

from notifications.consent import ERASED_PREFIX, address_for
from notifications.consent_models import ConsentRecord
from notifications.models import FINAL, Message
from notifications.sms_keyword_models import SmsKeywordOptin
from notifications.stock_alert_models import StockAlert
from shop.core import events
from shop.core.extensions import db


def _addresses(email: str | None, phone: str | None) -> list[str]:
    return [a for a in (address_for("email", email), address_for("sms", phone)) if a]


def _messages_of(customer_id: int, addresses: list[str]):
    return or_(Message.customer_id == customer_id, Message.to_address.in_(addresses))


def _consents_of(customer_id: int, addresses: list[str]):
    return or_(ConsentRecord.customer_id == customer_id, ConsentRecord.address.in_(addresses))


def _iso(value):
    return value.isoformat() if value is not None else None


def export(sender, customer_id: int, email: str | None = None, phone: str | None = None, **_) -> dict:
    addresses = _addresses(email, phone)
    messages = db.session.scalars(select(Message).where(_messages_of(customer_id, addresses))
                                  .order_by(Message.id)).all()
    consents = db.session.scalars(select(ConsentRecord).where(_consents_of(customer_id, addresses))
                                  .order_by(ConsentRecord.id)).all()
    alerts = db.session.scalars(select(StockAlert).where(
        or_(StockAlert.customer_id == customer_id, StockAlert.address.in_(addresses))).order_by(StockAlert.created_at))
    optins = db.session.scalars(select(SmsKeywordOptin).where(SmsKeywordOptin.phone.in_(addresses))
                                .order_by(SmsKeywordOptin.id))
    return {
        "stock_alerts": [{"store_id": a.store_id, "sku": a.sku, "channel": a.channel, "to": a.address,
                          "status": a.status, "created_at": _iso(a.created_at)} for a in alerts],
        "sms_keyword_optins": [{"keyword": o.keyword, "phone": o.phone, "status": o.status, "prompt": o.prompt,
                                "asked_at": _iso(o.asked_at), "coupon_code": o.coupon_code} for o in optins],
        "messages": [{"id": m.id, "template": m.template, "channel": m.channel, "purpose": m.purpose,
                      "to": m.to_address, "status": m.status, "created_at": _iso(m.created_at),
                      "sent_at": _iso(m.sent_at), "delivered_at": _iso(m.delivered_at)} for m in messages],
        "consent_history": [{"channel": c.channel, "purpose": c.purpose, "state": c.state, "source": c.source,
                             "to": c.address, "wording": c.wording, "occurred_at": _iso(c.occurred_at)}
                            for c in consents],
    }


def erase(sender, customer_id: int, contact_hash, email: str | None = None, phone: str | None = None, **_) -> None:
    addresses = _addresses(email, phone)
    mine = _messages_of(customer_id, addresses)
    db.session.execute(update(Message).where(mine, Message.status.not_in(FINAL))
                       .values(status="skipped", reason="erased at the customer's request")
                       .execution_options(synchronize_session=False))
    db.session.execute(update(Message).where(mine).values(to_address="erased", context={})
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(StockAlert).where(
        or_(StockAlert.customer_id == customer_id, StockAlert.address.in_(addresses))))
    db.session.execute(delete(SmsKeywordOptin).where(SmsKeywordOptin.phone.in_(addresses)))
    for address in addresses:  # Core UPDATE: the ledger's ORM guard refuses changes through a flush
        db.session.execute(update(ConsentRecord).where(ConsentRecord.address == address)
                           .values(address=ERASED_PREFIX + contact_hash(address))
                           .execution_options(synchronize_session=False))


def connect(app: Flask) -> None:
    events.personal_data_export.connect(export, sender=app, weak=False)
    events.personal_data_erasure.connect(erase, sender=app, weak=False)
