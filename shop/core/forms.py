"""What a page's forms and script calls may send, checked by a marshmallow schema before anything
runs (a 422 validation_error by field otherwise): the counter tablet and the marketing console."""

from __future__ import annotations

from flask import request
from marshmallow import Schema, ValidationError

from shop.core.errors import DomainError


def load(schema: Schema, data) -> dict:
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise DomainError("validation_error", "The request did not validate: see errors by field.",
                          errors=exc.messages) from exc


def form(schema: Schema) -> dict:
    """A posted HTML form: the schema's fields (the CSRF token and `next` are the view's business)."""
    return load(schema, {name: request.form[name] for name in schema.fields if name in request.form})


def body(schema: Schema) -> dict:
    """A JSON call from a page's script."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise DomainError("malformed_request", "Send a JSON object.")
    return load(schema, data)
