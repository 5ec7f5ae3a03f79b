"""Request and response schemas for stores, their opening hours and pickup settings."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from shop.core.limits import DEFAULT_HOLD_DAYS, MAX_HOLD_DAYS, MIN_HOLD_DAYS
from shop.core.pagination import PageArgsSchema
from stores.hours import is_valid_timezone


class HoursSchema(Schema):
    weekday = fields.Integer(strict=True, required=True, validate=validate.Range(0, 6))
    opens = fields.Time(required=True, format="%H:%M")
    closes = fields.Time(required=True, format="%H:%M")


class ExceptionSchema(Schema):
    date = fields.Date(required=True)
    opens = fields.Time(allow_none=True, load_default=None, format="%H:%M")
    closes = fields.Time(allow_none=True, load_default=None, format="%H:%M")
    note = fields.String(load_default="", validate=validate.Length(max=200))

    @validates_schema
    def _both_or_neither(self, data, **kwargs):
        if (data.get("opens") is None) != (data.get("closes") is None):
            raise ValidationError("Give both opens and closes, or neither for a closed day.")


def _unique(items, key: str, what: str) -> None:
    seen = [item.get(key) for item in items if isinstance(item, dict) and key in item]
    if len(seen) != len(set(seen)):
        raise ValidationError(f"Each {what} may appear once.")


class StoreSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(
        required=True, validate=validate.Regexp(r"^[A-Z0-9_-]{2,32}$", error="2-32 of A-Z 0-9 _ -")
    )
    name = fields.String(required=True, validate=validate.Length(1, 200))
    address = fields.String(load_default="", validate=validate.Length(max=500))
    latitude = fields.Float(required=True, allow_nan=False, validate=validate.Range(-90, 90))
    longitude = fields.Float(required=True, allow_nan=False, validate=validate.Range(-180, 180))
    timezone = fields.String(required=True, validate=validate.Length(1, 64))
    pickup_enabled = fields.Boolean(load_default=True)
    pay_at_store_enabled = fields.Boolean(load_default=True)
    hold_days = fields.Integer(
        strict=True,
        load_default=DEFAULT_HOLD_DAYS,
        validate=validate.Range(
            MIN_HOLD_DAYS, MAX_HOLD_DAYS,
            error=f"Hold {MIN_HOLD_DAYS} to {MAX_HOLD_DAYS} days: a card authorisation lasts about 7 days.",
        ),
    )
    prep_lead_minutes = fields.Integer(
        strict=True, load_default=60, validate=validate.Range(0, 7 * 24 * 60)
    )
    hours = fields.List(fields.Nested(HoursSchema), load_default=list, validate=validate.Length(max=7))
    exceptions = fields.List(
        fields.Nested(ExceptionSchema), load_default=list, validate=validate.Length(max=366)
    )
    # Computed for the reader, in the store's local time (ISO 8601 with its UTC offset).
    distance_km = fields.Float(dump_only=True, allow_none=True)
    is_open_now = fields.Boolean(dump_only=True)
    opens_at = fields.DateTime(dump_only=True, allow_none=True)
    closes_at = fields.DateTime(dump_only=True, allow_none=True)

    @validates("timezone")
    def _known_zone(self, value: str, **kwargs) -> None:
        if not is_valid_timezone(value):
            raise ValidationError("Unknown IANA time zone, e.g. Europe/Berlin.")

    @validates("hours")
    def _one_span_per_weekday(self, value, **kwargs) -> None:
        _unique(value, "weekday", "weekday")

    @validates("exceptions")
    def _one_exception_per_date(self, value, **kwargs) -> None:
        _unique(value, "date", "date")


class StorePatchSchema(StoreSchema):
    """Use as StorePatchSchema(partial=True): fields left out keep their value (no defaults)."""


class Near(fields.String):
    """`near=LAT,LON` in a query string, loaded as a (lat, lon) pair of floats within range."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {"description": "LAT,LON, e.g. 40.72,-73.99"})
        super().__init__(validate=validate.Regexp(
            r"^\s*-?\d+(\.\d+)?\s*,\s*-?\d+(\.\d+)?\s*$", error="Use near=LAT,LON, e.g. 40.72,-73.99"), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        self._validate(text)  # shape first, so the split below cannot fail
        lat, lon = (float(part) for part in text.split(","))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValidationError("Latitude must be within ±90 and longitude within ±180.")
        return lat, lon

    def _validate(self, value):
        if isinstance(value, str):
            super()._validate(value)


class StoreQuerySchema(PageArgsSchema):
    near = Near()
    radius_km = fields.Float(allow_nan=False, validate=validate.Range(min=0.1, max=20000))
    open_now = fields.Boolean()
