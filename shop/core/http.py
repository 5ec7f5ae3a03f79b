"""HTTP plumbing: URL converters with bounds, the problem+json schema, and the Api that documents them."""

from __future__ import annotations

import http

from flask_smorest import Api as SmorestApi
from flask_smorest.spec import prepare_response
from marshmallow import INCLUDE, Schema, fields
from werkzeug.routing import BaseConverter, IntegerConverter

from shop.core.limits import MAX_ID


class ProblemSchema(Schema):
    """RFC 9457 problem details, as every error of the API is rendered (extension members allowed)."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    code = fields.String(required=True)
    errors = fields.Dict()
    instance = fields.String()
    request_id = fields.String()


PROBLEM_CONTENT_TYPE = "application/problem+json"


class IdConverter(IntegerConverter):
    """`<int:...>` in URLs, bounded to what an integer column holds: a bigger id is a 404, not a 500."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


class CartIdConverter(BaseConverter):
    """`<cart:...>`: what a cart id can look like; anything else is a 404 before it reaches the database."""

    regex = r"[A-Za-z0-9_-]{16,43}"


def _cart_param_schema(converter) -> dict:
    return {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,43}$"}


def _id_param_schema(converter) -> dict:
    return {"type": "integer", "minimum": converter.min, "maximum": converter.max}


class Api(SmorestApi):
    """flask-smorest Api whose documented error responses are problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            content_type = PROBLEM_CONTENT_TYPE if status >= 400 else self.DEFAULT_RESPONSE_CONTENT_TYPE
            prepare_response(response, self.spec, content_type)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def init_app(self, app, *, spec_kwargs=None):
        app.url_map.converters["int"] = IdConverter
        app.url_map.converters["cart"] = CartIdConverter
        super().init_app(app, spec_kwargs=spec_kwargs)
        self.register_converter(IdConverter, _id_param_schema)
        self.register_converter(CartIdConverter, _cart_param_schema)
