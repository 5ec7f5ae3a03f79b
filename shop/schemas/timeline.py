"""Response schemas for the customer timeline."""

from marshmallow import Schema, fields, validate


class TimelineEntrySchema(Schema):
    id = fields.Integer()
    type = fields.String()
    channel = fields.String()
    reference = fields.String()
    summary = fields.String()
    occurred_at = fields.DateTime()


class TimelinePageSchema(Schema):
    last_contact = fields.Nested(TimelineEntrySchema, allow_none=True)
    items = fields.List(fields.Nested(TimelineEntrySchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class TimelineQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 100))
    cursor = fields.String(validate=validate.Length(1, 100))
