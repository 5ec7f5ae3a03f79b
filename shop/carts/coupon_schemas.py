"""Schemas of the coupon desk: a coupon as marketing sees it, the list's query and page, the edit."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shop.carts.schemas import CouponCreateSchema
from shop.core.pagination import PageArgsSchema


class CouponSchema(CouponCreateSchema):
    """A coupon with how often it has been used (orders not cancelled or expired)."""

    batch = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    uses = fields.Integer(dump_only=True)


class CouponsQuerySchema(PageArgsSchema):
    active = fields.Boolean(metadata={"description": "Only active (true) or deactivated (false) coupons."})
    batch = fields.String(validate=validate.Length(1, 64), metadata={"description": "Only this batch's codes."})


class CouponPageSchema(Schema):
    items = fields.List(fields.Nested(CouponSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class CouponPatchSchema(Schema):
    """What may change (shop.carts.coupon_admin says why the rest may not); unknown fields are a 422."""

    ends_at = fields.AwareDateTime(allow_none=True)
    max_uses = fields.Integer(strict=True, allow_none=True, validate=validate.Range(1, 10_000_000))
    min_subtotal = fields.Integer(strict=True, validate=validate.Range(0, 100_000_000))
    active = fields.Boolean()
