"""POST /webhooks/twilio/status: Twilio's delivery reports, applied forward-only.

The callback URL carries our message id, so a report that beats our own "sent" write still finds
its message; a late "sent" never overwrites "delivered"; "undelivered"/"failed" record the error.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate
from sqlalchemy import select

from notifications.models import Message
from notifications.status import advance
from notifications.twilio_signature import twilio_signed
from shop.core.clock import clock
from shop.core.extensions import db
from shop.core.transactions import transactional

blp = Blueprint("twilio_status", __name__, description="Twilio delivery reports")

# Twilio's MessageStatus -> ours; the rest (accepted, queued, sending, scheduled) changes nothing.
STATUSES = {"sent": "sent", "delivered": "delivered", "read": "delivered", "undelivered": "failed",
            "failed": "failed"}


class StatusQuerySchema(Schema):
    message_id = fields.Integer(strict=False, validate=validate.Range(1, 2**31 - 1))


class StatusFormSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    MessageSid = fields.String(required=True, validate=validate.Length(1, 100))
    MessageStatus = fields.String(required=True, validate=validate.Length(1, 40))
    ErrorCode = fields.String(validate=validate.Length(max=20))


def _find(message_id: int | None, sid: str) -> Message | None:
    stmt = select(Message).with_for_update()
    stmt = stmt.where(Message.id == message_id) if message_id else stmt.where(Message.provider_id == sid)
    message = db.session.scalar(stmt)
    if message is not None and message.provider_id not in (None, sid):
        return None  # a report about another message than the one this id names
    return message


@blp.route("/webhooks/twilio/status")
class TwilioStatus(MethodView):
    @twilio_signed  # before the form is parsed: an unsigned request learns nothing
    @blp.arguments(StatusQuerySchema(), location="query")
    @blp.arguments(StatusFormSchema(), location="form")
    @transactional
    @blp.response(204)
    def post(self, query, form):
        """Twilio reports a text's delivery (signed with X-Twilio-Signature)."""
        ours = STATUSES.get(form["MessageStatus"].lower())
        message = _find(query.get("message_id"), form["MessageSid"])
        if ours is None or message is None:
            return
        reason = f"twilio {form['MessageStatus']} {form.get('ErrorCode', '')}".strip() if ours == "failed" else None
        if message.provider_id is None and message.status in ("sending", "sent"):
            message.provider_id = form["MessageSid"]
        advance(message, ours, clock.now(), reason)
