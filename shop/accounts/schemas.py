"""Request and response schemas for accounts, tokens and profiles."""

from marshmallow import INCLUDE, Schema, fields, validate

from shop.accounts.contact import Email, Phone
from shop.core.pagination import PageArgsSchema, page_limit


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


class SignUpAcceptedSchema(Schema):
    """The answer to every sign-up, whether or not the email already had an account."""

    email = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": ["verification_sent"]})
    detail = fields.String(required=True)


class ProfileSchema(Schema):
    id = fields.Integer(dump_only=True)
    email = fields.String(dump_only=True)
    name = fields.String(dump_only=True)  # "" for an account made by create-user; changed through ProfilePatchSchema
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


class CustomerQuerySchema(PageArgsSchema):
    q = fields.String(required=True, validate=validate.Length(min=2, max=100))
    limit = page_limit(20)


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


class TimelineQuerySchema(PageArgsSchema):
    pass


class ErasureRequestSchema(Schema):
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256),
                             metadata={"description": "Erasure cannot be undone: the password, once more."})


class ErasureSchema(Schema):
    customer_id = fields.Integer(required=True)
    erased_at = fields.DateTime(required=True)
    orders_kept = fields.Integer(required=True, metadata={"description": "Kept for the books, without personal data."})
    carts_cleared = fields.Integer(required=True)


class DataExportSchema(Schema):
    """Everything held about the customer; sections may be added by other parts (consent history)."""

    class Meta:
        unknown = INCLUDE

    generated_at = fields.String(required=True)
    profile = fields.Dict(required=True)
    carts = fields.List(fields.Dict(), required=True)
    orders = fields.List(fields.Dict(), required=True)
    timeline = fields.List(fields.Dict(), required=True)
    coupon_redemptions = fields.List(fields.Dict(), required=True)
    sign_ins = fields.List(fields.Dict(), required=True)
    data_requests = fields.List(fields.Dict(), required=True)
