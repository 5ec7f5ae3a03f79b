"""Schemas of the campaigns API: a campaign in and out, a test-send, the report."""

from __future__ import annotations

import datetime as dt

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from notifications import rendering
from notifications.campaigns.models import AUDIENCES, CAMPAIGN_STATUSES, CHANNELS, EXITS, TRIGGERS
from shop.core import limits
from shop.core.pagination import PageArgsSchema

_ID = validate.Range(1, limits.MAX_ID)


class IncentiveSchema(Schema):
    """A coupon template: each message of the step mints one single-use code from it."""

    kind = fields.String(required=True, validate=validate.OneOf(("percent", "fixed")))
    value = fields.Integer(required=True, validate=validate.Range(1, 10**7),
                           metadata={"description": "Percent (1-100), or minor units of the cart's currency"})
    valid_days = fields.Integer(required=True, validate=validate.Range(1, limits.MAX_INCENTIVE_DAYS))

    @validates_schema
    def _percent(self, data, **_):
        if data.get("kind") == "percent" and data.get("value", 0) > 100:
            raise ValidationError("A percentage is at most 100.", "value")


class StepSchema(Schema):
    delay_minutes = fields.Integer(required=True, validate=validate.Range(0, limits.MAX_CAMPAIGN_DELAY_MINUTES),
                                   metadata={"description": "After the trigger (not after the step before)"})
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    template = fields.String(required=True, validate=validate.Length(1, 60))
    incentive = fields.Nested(IncentiveSchema, allow_none=True, load_default=None)

    @validates_schema
    def _template_of_channel(self, data, **_):
        template, channel = data.get("template"), data.get("channel")
        if template and channel and (template not in rendering.templates()
                                     or channel not in rendering.channels_of(template)):
            raise ValidationError(f"No {channel} template {template!r}.", "template")


class AudienceSchema(Schema):
    channels = fields.List(fields.String(validate=validate.OneOf(CHANNELS)), load_default=list,
                           validate=validate.Length(max=len(CHANNELS)),
                           metadata={"description": "One of these with marketing consent (empty: the steps' channels)"})
    store_ids = fields.List(fields.Integer(validate=_ID), load_default=list, validate=validate.Length(max=100),
                            metadata={"description": "Pickup stores (empty: any)"})
    min_cart_value = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(0, 10**9))
    who = fields.String(load_default="any", validate=validate.OneOf(AUDIENCES))
    keyword = fields.String(allow_none=True, load_default=None, validate=validate.Regexp(r"^[A-Za-z0-9]{2,20}$"),
                            metadata={"description": "sms_keyword campaigns only: the advert's keyword "
                                                     "(SMS_KEYWORDS; any case); empty: any keyword"})

    @post_load
    def _upper(self, data, **_):
        if data.get("keyword"):
            data["keyword"] = data["keyword"].upper()
        return data


# Audience filters that only a trigger's facts can answer: anything else would never match.
_ONLY_FOR = {"keyword": ("sms_keyword",), "min_cart_value": ("cart_abandoned", "order_picked_up", "order_expired"),
             "store_ids": ("cart_abandoned", "order_picked_up", "order_expired", "back_in_stock")}


def audience_misfit(trigger: str | None, audience: dict | None) -> str | None:
    """Why this audience cannot fit this trigger (a filter its enrolments have nothing to match), or None."""
    for key, triggers in _ONLY_FOR.items():
        if trigger and (audience or {}).get(key) and trigger not in triggers:
            return f"`{key}` filters {' and '.join(triggers)} campaigns only."
    return None


class CampaignInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 120))
    trigger = fields.String(required=True, validate=validate.OneOf(TRIGGERS))
    audience = fields.Nested(AudienceSchema, load_default=lambda: AudienceSchema().load({}))
    steps = fields.List(fields.Nested(StepSchema), required=True,
                        validate=validate.Length(1, limits.MAX_CAMPAIGN_STEPS))
    exit_on = fields.List(fields.String(validate=validate.OneOf(EXITS)), load_default=lambda: list(EXITS),
                          validate=validate.Length(max=len(EXITS)))
    cooldown_days = fields.Integer(load_default=7, validate=validate.Range(0, limits.MAX_CAMPAIGN_COOLDOWN_DAYS))
    attribution_days = fields.Integer(load_default=5, validate=validate.Range(1, limits.MAX_ATTRIBUTION_DAYS))

    @validates_schema
    def _audience_fits(self, data, **_):
        misfit = audience_misfit(data.get("trigger"), data.get("audience"))
        if misfit:
            raise ValidationError(misfit, "audience")

    @validates_schema
    def _steps_in_order(self, data, **_):
        delays = [step["delay_minutes"] for step in data.get("steps") or []]
        if delays != sorted(delays):
            raise ValidationError("Steps come in the order of their delays.", "steps")


class CampaignPatchSchema(CampaignInSchema):
    """Any field of a draft; the others stay (partial: no field is required, no default applies)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class CampaignSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    trigger = fields.String(required=True, metadata={"enum": list(TRIGGERS)})
    status = fields.String(required=True, metadata={"enum": list(CAMPAIGN_STATUSES)})
    audience = fields.Nested(AudienceSchema, required=True)
    steps = fields.List(fields.Nested(StepSchema), required=True)
    exit_on = fields.List(fields.String(), required=True)
    cooldown_days = fields.Integer(required=True)
    attribution_days = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    activated_at = fields.DateTime(allow_none=True)


class CampaignsQuerySchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(CAMPAIGN_STATUSES))


class CampaignsPageSchema(Schema):
    items = fields.List(fields.Nested(CampaignSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class TestSendSchema(Schema):
    to = fields.String(validate=validate.Length(3, 254),
                       metadata={"description": "The address for the step's channel: an email, or a phone (E.164)"})
    email = fields.Email(validate=validate.Length(max=254), metadata={"description": "Instead of `to`, for email"})
    phone = fields.String(validate=validate.Length(4, 20), metadata={"description": "Instead of `to`, for text"})
    step = fields.Integer(load_default=1, validate=validate.Range(1, limits.MAX_CAMPAIGN_STEPS),
                          metadata={"description": "1 for the first step"})
    locale = fields.String(load_default="en", validate=validate.OneOf(("en", "fr")))


class TestSentSchema(Schema):
    message_id = fields.Integer(required=True)
    channel = fields.String(required=True)
    template = fields.String(required=True)
    status = fields.String(required=True)


class StepReportSchema(Schema):
    step = fields.Integer(required=True)
    channel = fields.String(required=True)
    template = fields.String(required=True)
    enrolled = fields.Integer(required=True, metadata={"description": "Enrolments that reached this step"})
    sent = fields.Integer(required=True, metadata={"description": "Messages queued by the step"})
    skipped = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                          metadata={"description": "By reason: at the step, or at delivery"})
    delivered = fields.Integer(required=True, metadata={"description": "Accepted by the provider"})
    clicked = fields.Integer(required=True, metadata={"description": "Messages whose link was opened"})
    orders = fields.Integer(required=True)
    revenue = fields.Integer(required=True)
    unsubscribed = fields.Integer(required=True)


class DayRevenueSchema(Schema):
    date = fields.String(required=True)
    revenue = fields.Integer(required=True)
    orders = fields.Integer(required=True)


_PERIOD = {"default_timezone": dt.UTC,  # a time without an offset is UTC
           "validate": validate.Range(dt.datetime(2000, 1, 1, tzinfo=dt.UTC), dt.datetime(3000, 1, 1, tzinfo=dt.UTC))}


class ReportQuerySchema(Schema):
    since = fields.AwareDateTime(data_key="from", metadata={"description": "Count what happened from then"},
                                 **_PERIOD)
    until = fields.AwareDateTime(data_key="to", metadata={"description": "... until then (exclusive)"}, **_PERIOD)


class ReportSchema(Schema):
    campaign_id = fields.Integer(required=True)
    name = fields.String(required=True)
    status = fields.String(required=True)
    currency = fields.String(allow_none=True, required=True)
    enrolled = fields.Integer(required=True)
    active = fields.Integer(required=True)
    completed = fields.Integer(required=True)
    exited = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    orders = fields.Integer(required=True)
    revenue = fields.Integer(required=True)
    steps = fields.List(fields.Nested(StepReportSchema), required=True)
    daily_revenue = fields.List(fields.Nested(DayRevenueSchema), required=True)
