"""HTTP plumbing: URL converters with bounds, the problem+json schema, and the Api that documents
every error an operation can answer."""

from __future__ import annotations

import copy
import http
from collections.abc import Callable

from apispec import BasePlugin
from flask_smorest import Api as SmorestApi
from flask_smorest.spec import prepare_response
from marshmallow import INCLUDE, Schema, fields
from werkzeug.routing import BaseConverter, IntegerConverter

from shop.core.error_codes import STATUS, status_of
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


PROBLEMS_KEY = "x-problems"  # where problems() leaves its codes for ProblemsPlugin


def problems(*codes: str) -> Callable:
    """Declare the error codes a view can answer (besides the generic ones ProblemsPlugin adds);
    the spec lists them under their statuses. An unknown code fails at import."""
    for code in codes:
        status_of(code)

    def decorator(func):
        apidoc = copy.deepcopy(getattr(func, "_apidoc", {}))
        manual = apidoc.setdefault("manual_doc", {})
        manual.setdefault(PROBLEMS_KEY, {}).update(dict.fromkeys(codes, True))
        func._apidoc = apidoc
        return func

    return decorator


HEADER_PARAMETERS: dict[str, dict] = {
    "Idempotency-Key": {"required": True, "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                        "description": "Your id for this request: a retry with it returns the first reply "
                                       "(to you only) instead of acting twice."},
    "If-Match": {"schema": {"type": "string"},
                 "description": 'The cart\'s ETag as last read (or "*"): a stale one is a 412 and changes nothing.'},
    "X-Channel": {"schema": {"type": "string", "enum": ["web", "app", "store"]},
                  "description": "Where the caller acts from (default web; store for staff)."},
    "X-Store-ID": {"schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                   "description": "Staff: the store whose counter they act at (they must be its staff)."},
    "X-Order-Token": {"schema": {"type": "string", "maxLength": 100},
                      "description": "A guest's key to their order, as returned by checkout."},
}


HEADERS_KEY = "x-headers"  # where headers() leaves its names for HeadersPlugin


def headers(*names: str) -> Callable:
    """Declare the request headers an operation reads, so the spec (and generated clients) have
    them; an unknown name fails at import."""
    for name in names:
        HEADER_PARAMETERS[name]

    def decorator(func):
        apidoc = copy.deepcopy(getattr(func, "_apidoc", {}))
        apidoc.setdefault("manual_doc", {}).setdefault(HEADERS_KEY, {}).update(dict.fromkeys(names, True))
        func._apidoc = apidoc
        return func

    return decorator


class HeadersPlugin(BasePlugin):
    """Adds each operation's declared headers to its parameters (after flask-smorest has put the
    query arguments there, which a manual `parameters` list would replace)."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            if isinstance(operation, dict):
                names = operation.pop(HEADERS_KEY, {})
                operation.setdefault("parameters", []).extend(
                    {"in": "header", "name": name, **copy.deepcopy(HEADER_PARAMETERS[name])} for name in names)
                if not operation["parameters"]:
                    del operation["parameters"]


WRITE_METHODS = ("post", "put", "patch", "delete")
_STATUS_HEADERS = {
    401: {"WWW-Authenticate": {"description": "Bearer realm", "schema": {"type": "string"}}},
    423: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    429: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    503: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
}


def generic_problems(path: str, method: str, operation: dict) -> set[str]:
    """What any operation of this shape can answer, whatever its view does."""
    # any bug; a NUL character anywhere in the request; the database down or busy (503 + Retry-After)
    codes = {"internal_error", "invalid_value", "database_unavailable", "database_busy"}
    if "{" in path:
        codes.add("not_found")  # a path argument its converter refuses (an id beyond any row)
    if "requestBody" in operation:
        codes |= {"malformed_request", "validation_error", "payload_too_large", "unsupported_media_type"}
    query = {p["name"] for p in operation.get("parameters", ()) if isinstance(p, dict) and p.get("in") == "query"}
    if query:
        codes.add("validation_error")
    if "cursor" in query:
        codes.add("invalid_cursor")
    if method in WRITE_METHODS:
        codes.add("conflict")  # a unique key lost to a concurrent request
    return codes


def problem_responses(codes: set[str]) -> dict[str, dict]:
    """One problem+json response per status, naming (and enumerating) the codes it carries."""
    by_status: dict[int, list[str]] = {}
    for code in sorted(codes):
        by_status.setdefault(STATUS[code], []).append(code)
    responses = {}
    for status, listed in sorted(by_status.items()):
        response = {
            "description": f"{http.HTTPStatus(status).phrase}: " + ", ".join(f"`{c}`" for c in listed),
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"allOf": [
                "Problem", {"type": "object", "properties": {"code": {"type": "string", "enum": listed}}},
            ]}}},
        }
        if status in _STATUS_HEADERS:
            response["headers"] = copy.deepcopy(_STATUS_HEADERS[status])
        responses[str(status)] = response
    return responses


class ProblemsPlugin(BasePlugin):
    """Turns each operation's declared codes, plus the generic ones, into its error responses."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = set(operation.pop(PROBLEMS_KEY, {})) | generic_problems(path, method, operation)
            responses = operation["responses"]
            for status, response in problem_responses(codes).items():
                earlier = responses.pop(int(status), None) or responses.get(status)
                if isinstance(earlier, dict):  # a page for browsers at this status (unsubscribe) stays listed
                    response["content"].update((kind, content) for kind, content in earlier.get("content", {}).items()
                                               if kind != PROBLEM_CONTENT_TYPE)
                responses[status] = response


def _config_maximum(app):
    """Fields naming a setting as their `config_maximum` show its value as `maximum` in the spec."""

    def attributes(converter, field, **kwargs) -> dict:
        name = getattr(field, "config_maximum", None)
        return {"maximum": app.config[name]} if name else {}

    return attributes


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
        spec_kwargs = {**(spec_kwargs or {}), "extra_plugins": [ProblemsPlugin(), HeadersPlugin()]}
        super().init_app(app, spec_kwargs=spec_kwargs)
        self.ma_plugin.converter.add_attribute_function(_config_maximum(app))
        self.register_converter(IdConverter, _id_param_schema)
        self.register_converter(CartIdConverter, _cart_param_schema)
