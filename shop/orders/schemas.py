"""Request and response schemas for checkout, pickup orders, the staff flow and refunds."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shop.accounts.contact import Email, Phone
from shop.core.limits import (
    CONSENT_WORDING_MAX,
    MAX_FEEDBACK_COMMENT,
    MAX_ID,
    MAX_LINE_QUANTITY,
    MAX_LINES,
    MAX_RATING,
    MIN_RATING,
)
from shop.core.pagination import PageArgsSchema, page_limit
from shop.orders.models import ORDER_STATUSES
from shop.orders.queries import qr_payload


class CheckoutSchema(Schema):
    payment_method = fields.String(required=True, validate=validate.OneOf(["card", "pay_at_store"]))
    email = Email(validate=validate.Length(max=254))
    phone = Phone(allow_none=True)
    sms_updates = fields.Boolean()
    email_marketing = fields.Boolean(metadata={"description": "A yes to offers by email: confirmed by a link "
                                                              "in a mail before any offer goes (double opt-in)"})
    marketing_wording = fields.String(validate=validate.Length(1, CONSENT_WORDING_MAX),
                                      metadata={"description": "The text shown beside email_marketing, kept "
                                                               "with the yes (required with it)"})

    @validates_schema
    def _wording_with_a_yes(self, data, **_):
        if data.get("email_marketing") and not data.get("marketing_wording"):
            raise ValidationError("Say what the shopper was shown (marketing_wording) with email_marketing.",
                                  "marketing_wording")


class OrderLineSchema(Schema):
    id = fields.Integer()
    sku = fields.String()
    name = fields.String()
    unit_price = fields.Integer()
    quantity = fields.Integer()
    picked_quantity = fields.Integer(allow_none=True)
    refunded_quantity = fields.Integer()


class FeedbackSchema(Schema):
    rating = fields.Integer(strict=True, required=True, validate=validate.Range(MIN_RATING, MAX_RATING))
    comment = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=MAX_FEEDBACK_COMMENT))
    order_id = fields.Integer(dump_only=True)
    channel = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class OrderSchema(Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(ORDER_STATUSES)})
    pickup_store_id = fields.Integer(attribute="store_id", required=True)
    customer_id = fields.Integer(allow_none=True)
    email = fields.String()
    phone = fields.String(allow_none=True)
    sms_updates = fields.Boolean()
    channel = fields.String()
    payment_method = fields.String()
    lines = fields.List(fields.Nested(OrderLineSchema), required=True)
    currency = fields.String(required=True)
    subtotal = fields.Integer(required=True)
    discount = fields.Integer(required=True)
    total = fields.Integer(required=True)
    captured_amount = fields.Integer()
    refunded_amount = fields.Integer()
    promised_at = fields.DateTime(required=True)
    payment_expires_at = fields.DateTime(allow_none=True)
    ready_at = fields.DateTime(allow_none=True)
    pickup_deadline = fields.DateTime(allow_none=True)
    picked_up_at = fields.DateTime(allow_none=True)
    closed_reason = fields.String(allow_none=True)
    payment_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    feedback = fields.Nested(FeedbackSchema, allow_none=True, dump_only=True,
                             metadata={"description": "the shopper's rating, on GET /orders/{order_id} only"})


class ShopperOrderSchema(OrderSchema):
    """The order as its shopper reads it: with the code to show at the counter. Staff read OrderSchema
    or StaffOrderSchema, which have no such fields, so no staff response can carry the code."""

    pickup_code = fields.String(metadata={"description": "tell or show it at the counter; only the shopper sees it"})
    pickup_qr = fields.Function(qr_payload, metadata={"type": "string", "description": "the QR payload of the code"})


class StaffOrderSchema(OrderSchema):
    at_risk_skus = fields.List(fields.String())
    locked_until = fields.DateTime(allow_none=True)


class CheckoutPaymentSchema(Schema):
    method = fields.String(required=True)
    status = fields.String(required=True)
    amount = fields.Integer(required=True)
    currency = fields.String(required=True)
    client_secret = fields.String(allow_none=True)


class CheckoutResultSchema(Schema):
    order = fields.Nested(OrderSchema, required=True)
    payment = fields.Nested(CheckoutPaymentSchema, required=True)
    order_token = fields.String(required=True, metadata={"description": "send as X-Order-Token to read the order"})
    pickup_code = fields.String(required=True)
    pickup_qr = fields.String(required=True)


class QueueQuerySchema(PageArgsSchema):
    status = fields.String(validate=validate.Length(1, 200))
    limit = page_limit(100)


class PickSchema(Schema):
    picked_quantity = fields.Integer(strict=True, required=True, validate=validate.Range(0, MAX_LINE_QUANTITY))


class HandoverSchema(Schema):
    pickup_code = fields.String(required=True, validate=validate.Regexp(r"^\d{6}$", error="Six digits."))


class CancelSchema(Schema):
    reason = fields.String(load_default="Cancelled on request", validate=validate.Length(1, 200))


class RefundLineSchema(Schema):
    line_id = fields.Integer(strict=True, required=True, validate=validate.Range(1, MAX_ID))
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(1, MAX_LINE_QUANTITY))


class RefundSchema(Schema):
    lines = fields.List(fields.Nested(RefundLineSchema), required=True, validate=validate.Length(1, MAX_LINES))
    restock = fields.Boolean(required=True)


class RefundResultSchema(Schema):
    amount = fields.Integer()
    currency = fields.String()
    refunded_total = fields.Integer()
    restocked = fields.Boolean()


class OrdersQuerySchema(PageArgsSchema):
    pass
