"""Request and response schemas for consent: preferences, their history, inbound texts."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate, validates_schema

from notifications.consent_models import CHANNELS, PURPOSES, SOURCES, STATES, WORDING_MAX


class ConsentEventSchema(Schema):
    id = fields.Integer(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    purpose = fields.String(required=True, validate=validate.OneOf(PURPOSES))
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    source = fields.String(required=True, validate=validate.OneOf(SOURCES))
    wording = fields.String(required=True)
    address = fields.String(allow_none=True, required=True)
    reference = fields.String(required=True)
    occurred_at = fields.DateTime(required=True)
    store_id = fields.Integer(allow_none=True, required=True,
                              metadata={"description": "The store whose staff recorded it at the counter"})
    actor_id = fields.Integer(allow_none=True, required=True,
                              metadata={"description": "The staff member who recorded it"})


class PreferenceSchema(Schema):
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    purpose = fields.String(required=True, validate=validate.OneOf(PURPOSES))
    allowed = fields.Boolean(required=True, metadata={"description": "Whether such a message may go now"})
    reason = fields.String(allow_none=True, required=True,
                           metadata={"description": "Why not: no_marketing_consent, unsubscribed, sms_stopped, "
                                                    "no_sms_consent, confirmation_pending"})
    state = fields.String(allow_none=True, required=True, validate=validate.OneOf(STATES),
                          metadata={"description": "The latest event's state; null when nothing was recorded"})
    since = fields.DateTime(allow_none=True, required=True)
    source = fields.String(allow_none=True, required=True, validate=validate.OneOf(SOURCES))


class PreferencesSchema(Schema):
    customer_id = fields.Integer(required=True)
    email = fields.String(required=True)
    phone = fields.String(allow_none=True, required=True)
    preferences = fields.List(fields.Nested(PreferenceSchema), required=True)
    history = fields.List(fields.Nested(ConsentEventSchema), required=True,
                          metadata={"description": "Newest first, at most 100 events"})


class PreferencesUpdateSchema(Schema):
    email_marketing = fields.Boolean(metadata={"description": "Offers by email: on or off"})
    sms_marketing = fields.Boolean(metadata={"description": "Offers by text: on or off (needs a phone)"})
    wording = fields.String(required=True, validate=validate.Length(1, WORDING_MAX),
                            metadata={"description": "The text the customer saw and agreed to, stored as said"})

    @validates_schema
    def _one_choice(self, data, **_):
        if "email_marketing" not in data and "sms_marketing" not in data:
            raise ValidationError("Say email_marketing, sms_marketing or both.", "_schema")


class CounterConsentSchema(Schema):
    """A choice said at the counter and recorded by staff."""

    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    purpose = fields.String(required=True, validate=validate.OneOf(PURPOSES))
    state = fields.String(required=True, validate=validate.OneOf(("granted", "withdrawn")),
                          metadata={"description": "granted (a yes to offers by email is pending until the "
                                                   "customer confirms it by email) or withdrawn"})
    wording = fields.String(required=True, validate=validate.Length(1, WORDING_MAX),
                            metadata={"description": "The text the customer was shown at the counter"})


class InboundSmsSchema(Schema):
    """What Twilio posts for an incoming text (only the fields read here; the rest are signed too)."""

    class Meta:
        unknown = INCLUDE

    From = fields.String(required=True, validate=validate.Length(1, 40))
    Body = fields.String(load_default="", validate=validate.Length(max=1600))
    MessageSid = fields.String(load_default="", validate=validate.Length(max=100))


class UnsubscribeLinkSchema(Schema):
    """What an unsubscribe link is about, for a client that asks for JSON instead of the page."""

    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    purpose = fields.String(required=True, validate=validate.OneOf(PURPOSES))
    address = fields.String(required=True, metadata={"description": "Masked"})
    unsubscribed = fields.Boolean(required=True)
