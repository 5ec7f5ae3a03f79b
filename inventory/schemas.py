"""Request and response schemas for the catalog, stock figures, till events, ledger, reservations."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from inventory.stock_events import EVENT_TYPES
from shop.core.limits import MAX_LINES
from shop.core.pagination import PageArgsSchema, page_limit
from stores.schemas import Near

SKU = validate.Regexp(r"^[A-Za-z0-9._-]{1,64}$", error="1-64 of A-Z a-z 0-9 . _ -")
MAX_SKUS_PER_LOOKUP = 100
MAX_QUANTITY = 1_000_000
MAX_EVENT_LINES = 500  # a till or back-room event: a whole delivery or count in one
MAX_HOLD_MINUTES = 7 * 24 * 60
MAX_TAKEN_AT_ONCE = 10_000  # one sale or damage line: a typo (1,000,000 for 1) must not wreck the figure


def gtin_is_valid(code: str) -> bool:
    """GS1 check digit for GTIN-8/12/13/14."""
    if not code.isdigit() or len(code) not in (8, 12, 13, 14):
        return False
    digits = [int(c) for c in code]
    body = reversed(digits[:-1])
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(body))
    return (10 - total % 10) % 10 == digits[-1]


class ProductSchema(Schema):
    sku = fields.String(required=True, validate=SKU)
    name = fields.String(required=True, validate=validate.Length(1, 300))
    price = fields.Integer(strict=True, required=True, validate=validate.Range(0, 100_000_000),
                           metadata={"description": "minor units (cents)"})
    currency = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{3}$",
                             error="An ISO 4217 code such as USD."))
    gtin = fields.String(allow_none=True, load_default=None)
    active = fields.Boolean(load_default=True)

    @validates("gtin")
    def _gtin(self, value, **kwargs):
        if value is not None and not gtin_is_valid(value):
            raise ValidationError("Not a valid GTIN (8, 12, 13 or 14 digits with check digit).")


class ProductPatchSchema(ProductSchema):
    """Use as ProductPatchSchema(partial=True); the SKU is the product's key and cannot change."""

    class Meta:
        exclude = ("sku",)


class ProductQuerySchema(PageArgsSchema):
    q = fields.String(validate=validate.Length(1, 100))
    limit = page_limit(20)


class ProductPageSchema(Schema):
    items = fields.List(fields.Nested(ProductSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class StockQuerySchema(Schema):
    # SKU characters and commas only: 100 SKUs stay a URL every server takes (gunicorn.conf.py)
    skus = fields.String(required=True, validate=[
        validate.Length(1, MAX_SKUS_PER_LOOKUP * 65),
        validate.Regexp(r"^[A-Za-z0-9._,-]+$", error="SKUs (A-Z a-z 0-9 . _ -) separated by commas.")])

    @validates("skus")
    def _at_most_100(self, value, **kwargs):
        skus = split_skus(value)
        if not skus:
            raise ValidationError("Give at least one SKU.")
        if len(skus) > MAX_SKUS_PER_LOOKUP:
            raise ValidationError(f"At most {MAX_SKUS_PER_LOOKUP} SKUs per request.")


def split_skus(text: str) -> list[str]:
    return list(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))


class StockFiguresSchema(Schema):
    sku = fields.String(required=True)
    available = fields.Integer(required=True)
    on_hand = fields.Integer(metadata={"description": "staff of the store only"})
    reserved = fields.Integer(metadata={"description": "staff of the store only"})
    safety_stock = fields.Integer(metadata={"description": "staff of the store only"})


class SafetyStockSchema(Schema):
    safety_stock = fields.Integer(strict=True, required=True, validate=validate.Range(0, MAX_QUANTITY))


class AvailabilityQuerySchema(Schema):
    sku = fields.String(required=True, validate=SKU)
    near = Near()
    radius_km = fields.Float(allow_nan=False, validate=validate.Range(min=0.1, max=20000))


class AvailabilitySchema(Schema):
    store_id = fields.Integer(required=True)
    store_code = fields.String(required=True)
    store_name = fields.String(required=True)
    available = fields.Integer(required=True)
    distance_km = fields.Float(allow_none=True)


class LineSchema(Schema):
    sku = fields.String(required=True, validate=SKU)
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(0, MAX_QUANTITY))


def _unique_skus(lines) -> None:
    skus = [line["sku"] for line in lines]
    if len(skus) != len(set(skus)):
        raise ValidationError({"lines": ["Each SKU may appear once."]})


class StockEventSchema(Schema):
    event_id = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9:._-]{1,100}$", error="1-100 of A-Z a-z 0-9 : . _ -"))
    type = fields.String(required=True, validate=validate.OneOf(EVENT_TYPES))
    lines = fields.List(fields.Nested(LineSchema), required=True, validate=validate.Length(1, MAX_EVENT_LINES))

    @validates_schema
    def _quantities(self, data, **kwargs):
        _unique_skus(data["lines"])
        if data["type"] != "count" and any(line["quantity"] < 1 for line in data["lines"]):
            raise ValidationError({"lines": ["Quantities must be at least 1 (only a count may be 0)."]})
        if data["type"] in ("sale", "damage") and any(line["quantity"] > MAX_TAKEN_AT_ONCE for line in data["lines"]):
            raise ValidationError({"lines": [f"A {data['type']} takes at most {MAX_TAKEN_AT_ONCE} units of a SKU "
                                             "at once: record a count if the shelf figure is wrong."]})


class StockEventLineResultSchema(Schema):
    sku = fields.String()
    quantity = fields.Integer()
    delta_on_hand = fields.Integer()
    on_hand = fields.Integer()
    available = fields.Integer()


class StockWarningSchema(Schema):
    sku = fields.String(required=True)
    code = fields.String(required=True, metadata={"enum": ["negative_on_hand"]})
    detail = fields.String(required=True)


class StockEventResultSchema(Schema):
    warnings = fields.List(fields.Nested(StockWarningSchema),
                           metadata={"description": "What looks wrong after the event (on_hand below zero)."})
    event_id = fields.String(required=True)
    store_id = fields.Integer(required=True)
    type = fields.String(required=True)
    lines = fields.List(fields.Nested(StockEventLineResultSchema), required=True)
    at_risk_reservation_ids = fields.List(fields.Integer(), required=True)
    recorded_at = fields.String(required=True)


class LedgerQuerySchema(PageArgsSchema):
    sku = fields.String(validate=SKU)


class LedgerEntrySchema(Schema):
    id = fields.Integer()
    sku = fields.String(attribute="product.sku")
    delta_on_hand = fields.Integer()
    delta_reserved = fields.Integer()
    reason = fields.String()
    source = fields.String()
    actor_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class LedgerPageSchema(Schema):
    items = fields.List(fields.Nested(LedgerEntrySchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class ReservationCreateSchema(Schema):
    reference = fields.String(validate=validate.Length(1, 100))
    ttl_minutes = fields.Integer(strict=True, load_default=15, validate=validate.Range(1, MAX_HOLD_MINUTES))
    lines = fields.List(fields.Nested(LineSchema), required=True, validate=validate.Length(1, MAX_LINES))

    @validates_schema
    def _positive(self, data, **kwargs):
        _unique_skus(data["lines"])
        if any(line["quantity"] < 1 for line in data["lines"]):
            raise ValidationError({"lines": ["Quantities must be at least 1."]})


class ReservationLineSchema(Schema):
    sku = fields.String()
    quantity = fields.Integer()
    at_risk = fields.Boolean()


class ReservationSchema(Schema):
    id = fields.Integer()
    store_id = fields.Integer()
    reference = fields.String()
    status = fields.String()
    expires_at = fields.DateTime()
    at_risk = fields.Boolean()
    lines = fields.List(fields.Nested(ReservationLineSchema))
