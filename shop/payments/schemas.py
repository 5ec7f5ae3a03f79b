"""Schemas of the payments endpoints: the list of payments staff must look at, and resolving one."""

from marshmallow import Schema, fields, validate

from shop.core.pagination import PageArgsSchema


class AttentionQuerySchema(PageArgsSchema):
    store_id = fields.Integer(validate=validate.Range(1, 2**31 - 1))  # a query string: not strict


class AttentionItemSchema(Schema):
    payment_id = fields.Integer(attribute="id", required=True)
    order_id = fields.Integer(required=True)
    order_number = fields.String(attribute="order.number", required=True)
    store_id = fields.Integer(attribute="order.store_id", required=True)
    order_status = fields.String(attribute="order.status", required=True)
    intent_id = fields.String(required=True)
    payment_status = fields.String(attribute="status", required=True)
    attention = fields.String(required=True, metadata={"description": "why staff must look at it"})
    flagged_at = fields.DateTime(required=True)
    void_attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    total = fields.Integer(attribute="order.total")
    captured_amount = fields.Integer(attribute="order.captured_amount")
    refunded_amount = fields.Integer(attribute="order.refunded_amount")
    currency = fields.String(attribute="order.currency")
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by_id = fields.Integer(allow_none=True)
    resolution_note = fields.String(allow_none=True)


class ResolutionSchema(Schema):
    note = fields.String(required=True, validate=validate.Length(1, 500),
                         metadata={"description": "what staff did about it (kept with who and when)"})


class AttentionPageSchema(Schema):
    items = fields.List(fields.Nested(AttentionItemSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
