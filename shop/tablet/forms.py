"""What the tablet's forms and calls may send, checked before anything runs (a clear 4xx otherwise).

The pick and handover bodies are the staff API's own schemas: one statement of what a pick or a
pickup code may be.
"""

from __future__ import annotations

from flask import request
from marshmallow import Schema, ValidationError, fields, validate

from shop.core.errors import DomainError
from shop.orders.schemas import HandoverSchema, PickSchema


class SignInForm(Schema):
    email = fields.String(required=True, validate=validate.Length(1, 254))
    password = fields.String(required=True, validate=validate.Length(1, 200))


class UnlockBody(Schema):
    """A manager's own sign-in, typed on the tablet, and their word that they checked the ID."""

    email = fields.String(required=True, validate=validate.Length(1, 254))
    password = fields.String(required=True, validate=validate.Length(1, 200))
    id_checked = fields.Boolean(required=True, validate=validate.Equal(True, error="Check the shopper's ID first."))


def _load(schema: Schema, data) -> dict:
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise DomainError("validation_error", "The request did not validate: see errors by field.",
                          errors=exc.messages) from exc


def form(schema: Schema) -> dict:
    """A posted HTML form: the schema's fields (the CSRF token and `next` are the view's business)."""
    return _load(schema, {name: request.form[name] for name in schema.fields if name in request.form})


def body(schema: Schema) -> dict:
    """A JSON call from the page's script."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise DomainError("malformed_request", "Send a JSON object.")
    return _load(schema, data)


PICK = PickSchema()
HANDOVER = HandoverSchema()
UNLOCK = UnlockBody()
SIGN_IN = SignInForm()
