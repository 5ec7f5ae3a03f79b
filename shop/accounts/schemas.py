"""Request and response schemas for accounts, tokens and profiles."""

from marshmallow import Schema, fields, validate

from shop.accounts.contact import Email, Phone
from shop.core.limits import MAX_PAGE_SIZE


class TokenRequestSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))


class TokenUserSchema(Schema):
    id = fields.Integer(required=True)
    role = fields.String(required=True)
    store_ids = fields.List(fields.Integer(), required=True)


class TokenSchema(Schema):
    token = fields.String(required=True)
    expires_at = fields.DateTime(required=True)
    user = fields.Nested(TokenUserSchema, required=True)


class CustomerCreateSchema(Schema):
    email = Email(required=True, validate=validate.Length(max=254))
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=8, max=256)
    )
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    phone = Phone(allow_none=True)


class ProfileSchema(Schema):
    id = fields.Integer(dump_only=True)
    email = fields.String(dump_only=True)
    name = fields.String(validate=validate.Length(min=1, max=200))
    phone = Phone(allow_none=True)
    role = fields.String(dump_only=True)
    store_ids = fields.List(fields.Integer(), dump_only=True)
    email_verified = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class ProfilePatchSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    phone = Phone(allow_none=True)


class EmailVerificationSchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class CustomerQuerySchema(Schema):
    q = fields.String(required=True, validate=validate.Length(min=2, max=100))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))


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
    limit = fields.Integer(load_default=50, validate=validate.Range(1, MAX_PAGE_SIZE))
    cursor = fields.String(validate=validate.Length(1, 100))
