"""Request and response schemas for carts, their lines, coupons and recovery links."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from inventory.schemas import SKU
from shop.accounts.contact import Email, Phone
from shop.core.limits import MAX_ID, MAX_LINE_QUANTITY

QUANTITY = validate.Range(1, MAX_LINE_QUANTITY, error=f"From 1 to {MAX_LINE_QUANTITY}.")
STORE_ID = validate.Range(1, MAX_ID)


class CartCreateSchema(Schema):
    pickup_store_id = fields.Integer(strict=True, allow_none=True, validate=STORE_ID)


class CartPatchSchema(Schema):
    pickup_store_id = fields.Integer(strict=True, allow_none=True, validate=STORE_ID)
    email = Email(allow_none=True, validate=validate.Length(max=254))
    phone = Phone(allow_none=True)


class LineAddSchema(Schema):
    sku = fields.String(required=True, validate=SKU)
    quantity = fields.Integer(strict=True, required=True, validate=QUANTITY)


class LineQuantitySchema(Schema):
    quantity = fields.Integer(strict=True, required=True, validate=QUANTITY)


class CouponCodeSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(1, 64))


class CartLineSchema(Schema):
    sku = fields.String(required=True)
    name = fields.String(required=True)
    quantity = fields.Integer(required=True)
    unit_price = fields.Integer(required=True)
    line_total = fields.Integer(required=True)
    price_changed = fields.Boolean(required=True)
    unit_price_when_added = fields.Integer(required=True)
    availability = fields.String(allow_none=True, metadata={"enum": ["in_stock", "low", "out"]})


class CouponProblemSchema(Schema):
    code = fields.String()
    detail = fields.String()


class CartCouponSchema(Schema):
    code = fields.String()
    applied = fields.Boolean()
    problem = fields.Nested(CouponProblemSchema, allow_none=True)


class CartSchema(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True)
    customer_id = fields.Integer(allow_none=True)
    pickup_store_id = fields.Integer(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(CartLineSchema), required=True)
    subtotal = fields.Integer(required=True)
    discount = fields.Integer(required=True)
    total = fields.Integer(required=True)
    currency = fields.String(allow_none=True)
    coupon = fields.Nested(CartCouponSchema, allow_none=True)
    version = fields.Integer(required=True)
    notes = fields.List(fields.String())
    last_activity_at = fields.DateTime()


class RecoveryLinkSchema(Schema):
    token = fields.String(required=True)
    expires_at = fields.DateTime(required=True)
    url = fields.String(allow_none=True)


class RecoveredCartSchema(Schema):
    cart_id = fields.String(required=True)
    requires_sign_in = fields.Boolean(required=True)


class CouponCreateSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{3,64}$"))
    kind = fields.String(required=True, validate=validate.OneOf(["percent", "fixed"]))
    value = fields.Integer(strict=True, required=True, validate=validate.Range(1, 100_000_000))
    currency = fields.String(allow_none=True, validate=validate.Regexp(r"^[A-Z]{3}$"))
    min_subtotal = fields.Integer(strict=True, load_default=0, validate=validate.Range(0, 100_000_000))
    starts_at = fields.AwareDateTime(allow_none=True)
    ends_at = fields.AwareDateTime(allow_none=True)
    max_uses = fields.Integer(strict=True, allow_none=True, validate=validate.Range(1, 10_000_000))
    max_uses_per_customer = fields.Integer(strict=True, allow_none=True, validate=validate.Range(1, 1000))
    single_use = fields.Boolean(load_default=False)
    id = fields.Integer(dump_only=True)
    active = fields.Boolean(dump_only=True)

    @validates_schema
    def _consistent(self, data, **kwargs):
        if data["kind"] == "percent" and data["value"] > 100:
            raise ValidationError({"value": ["A percentage is at most 100."]})
        if data["kind"] == "fixed" and not data.get("currency"):
            raise ValidationError({"currency": ["A fixed amount needs its currency."]})
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            raise ValidationError({"ends_at": ["Must be after starts_at."]})
