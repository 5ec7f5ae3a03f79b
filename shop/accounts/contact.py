"""Normalising contact details (emails via email-validator, phone numbers to E.164 via phonenumbers)
and masking them the one way every screen and API shows them (the tablet, the outbox, unsubscribe);
the keyed hash that stands for a contact once its owner had it erased."""

from __future__ import annotations

import hashlib
import hmac

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from marshmallow import ValidationError, fields


def normalize_email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationError(f"Not a valid email address: {exc}") from exc


def normalize_phone(value: str, region: str | None = None) -> str:
    """E.164 form of a phone number; without a region the number must start with +."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError("Not a valid phone number: use E.164, e.g. +14155550123.") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("Not a valid phone number: use E.164, e.g. +14155550123.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)



class Email(fields.String):
    """A validated, normalised (lower-cased) email address."""

    def _deserialize(self, value, attr, data, **kwargs):
        return normalize_email(super()._deserialize(value, attr, data, **kwargs))


class Phone(fields.String):
    """A phone number stored and returned in E.164."""

    def _deserialize(self, value, attr, data, **kwargs):
        return normalize_phone(super()._deserialize(value, attr, data, **kwargs))


def mask_email(email: str) -> str:
    """Enough to check against an ID, not to write to: "a•••@example.com"."""
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}•••@{domain}" if local else "•••"


def mask_phone(phone: str) -> str:
    """Only the last two digits: "•••••••••23"."""
    digits = [c for c in phone if c.isdigit()]
    return "•" * max(len(digits) - 2, 0) + "".join(digits[-2:])


def mask_address(address: str) -> str:
    """An email or a phone number, masked as its kind is: "a•••@example.com", "•••••••••23"."""
    return mask_email(address) if "@" in address else mask_phone(address)


def contact_hash(value: str | None) -> str | None:
    """What stays of an email or phone as proof (of a consent, an unsubscribe) after erasure: an
    HMAC under SECRET_KEY of the normalised contact, so a request naming it again can be matched,
    but nobody can read it back or test guesses without the key."""
    if not value:
        return None
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, value.strip().lower().encode(), hashlib.sha256).hexdigest()
