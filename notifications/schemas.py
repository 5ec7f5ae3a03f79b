"""Schemas of the messages API: the outbox as staff see it (addresses masked), previews."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from notifications.models import CHANNELS, STATUSES
from notifications.outbox import LOCALES
from shop.accounts.contact import mask_address
from shop.core.pagination import PageArgsSchema


class MessagesQuerySchema(PageArgsSchema):
    customer_id = fields.Integer(strict=False, validate=validate.Range(1, 2**31 - 1))  # a query string
    order_id = fields.Integer(strict=False, validate=validate.Range(1, 2**31 - 1))
    status = fields.String(validate=validate.OneOf(STATUSES))


class MessageSchema(Schema):
    id = fields.Integer(required=True)
    template = fields.String(required=True)
    channel = fields.String(required=True, metadata={"enum": list(CHANNELS)})
    purpose = fields.String(required=True)
    locale = fields.String(required=True)
    to = fields.Function(lambda m: mask_address(m.to_address), required=True)
    customer_id = fields.Integer(allow_none=True)
    order_id = fields.Integer(allow_none=True)
    status = fields.String(required=True, metadata={"enum": list(STATUSES)})
    reason = fields.String(allow_none=True)
    attempts = fields.Integer(required=True)
    due_at = fields.DateTime(required=True)
    created_at = fields.DateTime(required=True)
    sent_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)


class MessagesPageSchema(Schema):
    items = fields.List(fields.Nested(MessageSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class PreviewQuerySchema(Schema):
    locale = fields.String(load_default="en", validate=validate.OneOf(LOCALES))


class PreviewSchema(Schema):
    template = fields.String(required=True)
    locale = fields.String(required=True)
    purpose = fields.String(required=True)
    channels = fields.List(fields.String(), required=True)
    subject = fields.String(allow_none=True)
    text = fields.String(allow_none=True)
    html = fields.String(allow_none=True)
    sms = fields.String(allow_none=True)
