"""DomainError and the one error handler that renders every error as application/problem+json."""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, current_app, g, json, request
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from shop.core import database
from shop.core.error_codes import HTTP_CODES, status_of
from shop.core.extensions import db
from shop.core.http import PROBLEM_CONTENT_TYPE

log = logging.getLogger(__name__)

TYPE_BASE = "https://omnishop.dev/problems/"


class DomainError(Exception):
    """A business rule said no: a machine code (its HTTP status comes from shop.core.error_codes),
    a detail for people and optional extra fields."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        headers: dict | None = None,
        keep_changes: bool = False,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status_of(code)
        self.code = code
        self.detail = detail
        self.extra = extra
        self.headers = headers or {}
        # A refusal that must still be remembered (a wrong pickup code, a failed capture): the
        # transaction boundary (shop.core.transactions) commits it; elsewhere nothing is kept.
        self.keep_changes = keep_changes


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> Response:
    """Build one problem+json response; the only place the error body shape is written."""
    body = {
        "type": TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    request_id = g.get("request_id")
    if request_id:
        body["request_id"] = request_id
    return Response(json.dumps(body), status=status, mimetype=PROBLEM_CONTENT_TYPE)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def coded_problem(code: str, detail: str, **extra: Any) -> Response:
    """A problem whose status is the one shop.core.error_codes gives its code."""
    status = status_of(code)
    return problem(status, code, _title(status), detail, **extra)


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # pragma: no cover - a broken connection must not hide the original error
        log.exception("rollback failed while handling an error")


def handle_domain_error(exc: DomainError) -> Response:
    """Render. The transaction boundary has already ended the transaction (and committed a
    keep_changes refusal); the rollback only clears what a non-transactional view left."""
    _rollback()
    resp = coded_problem(exc.code, exc.detail, **exc.extra)
    resp.headers.update(exc.headers)
    return resp


def handle_http_exception(exc: HTTPException) -> Response:
    _rollback()
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    extra: dict[str, Any] = {}
    detail = exc.description or _title(status)
    code = HTTP_CODES.get(status, "http_error")
    messages = data.get("messages") if isinstance(data, dict) else None
    if messages:
        # webargs: {"json": {...}} or {"query": {...}}; flatten one level for clients
        errors: dict[str, Any] = {}
        for location, fields_ in messages.items():
            if isinstance(fields_, dict):
                errors.update(fields_)
            else:
                errors[location] = fields_
        extra["errors"] = _string_keys(errors)
        if status == 422:
            detail = "The request did not validate: see errors by field."
        elif status == 400 and "_schema" not in errors:
            code = "malformed_request"
            detail = "The request body is not valid JSON."
    resp = problem(status, code, _title(status), detail, **extra)
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        resp.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    if isinstance(data, dict) and isinstance(data.get("headers"), dict):
        resp.headers.update(data["headers"])
    if status == 401:
        resp.headers.setdefault("WWW-Authenticate", 'Bearer realm="omnishop"')
    return resp


def _string_keys(value: Any) -> Any:
    """Validation messages as JSON objects: a list's item errors are keyed by index (an int) beside
    field names, and mixed keys cannot be sorted when the reply is serialized (that was a 500)."""
    if isinstance(value, dict):
        return {str(key): _string_keys(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_string_keys(item) for item in value]
    return value


def handle_integrity_error(exc: IntegrityError) -> Response:
    _rollback()
    log.info("integrity error turned into 409: %s", type(exc.orig).__name__)
    return coded_problem("conflict", "The request conflicts with existing data.")


def handle_data_error(exc: DataError) -> Response:
    """The database refused a value the schemas let through (a NUL character in a search, say):
    the caller's input, so a 422 and nothing kept, never a 500."""
    _rollback()
    log.info("data error turned into 422: %s", type(exc.orig).__name__)
    return coded_problem("invalid_value",
                         "A value in the request cannot be stored or searched (for example a NUL character).")


def handle_recursion_error(exc: RecursionError) -> Response:
    """Input nested deeper than a parser can follow (the JSON depth check covers bodies; this is
    the net under every other parser): the caller's input, so a 400, never a 500."""
    _rollback()
    log.info("recursion error turned into 400")
    return coded_problem("malformed_request", "The request nests too deeply to be read.")


def handle_unexpected(exc: Exception) -> Response:
    _rollback()
    log.exception("unhandled error")
    return coded_problem("internal_error", "Something went wrong on our side.")


def handle_database_error(exc: Exception) -> Response:
    """The database cannot be reached (503 database_unavailable) or a row or statement was too slow
    (503 database_busy, our lock or statement timeout): both say when to try again. An outage is
    told by shop.core.outages in a few lines; any other database error is a bug: a 500."""
    trouble = database.classify(exc)
    if trouble is None:
        return handle_unexpected(exc)
    with contextlib.suppress(Exception):  # the connection may be gone; the outage tells it
        db.session.rollback()
    if trouble == "busy":
        log.warning("database busy, answered 503: %s", getattr(exc.orig, "sqlstate", None) or exc.orig)
        resp = coded_problem("database_busy", "The data this request needs is busy right now: try again in a moment.")
        resp.headers["Retry-After"] = "1"
        return resp
    if isinstance(exc, PoolTimeoutError):  # every connection busy: a crowd, not (yet) an outage
        log.warning("no database connection came free in time, answered 503")
    else:
        database.outage(current_app).failed(exc)
    resp = coded_problem("database_unavailable", "The database cannot be reached right now: try again shortly.")
    resp.headers["Retry-After"] = str(current_app.config["DB_RETRY_AFTER_SECONDS"])
    return resp


def refuse_nul_characters() -> Response | None:
    """No text we keep or search may hold a NUL character (PostgreSQL refuses it, SQLite would
    store it): one clear 422 for the path, the query string or a JSON body, on either database."""
    body = request.get_data(cache=True) if request.is_json else b""
    if "\x00" in request.path or b"%00" in request.query_string.lower() or b"\\u0000" in body:
        return coded_problem("invalid_value", "The request contains a NUL character, which no field accepts.")
    return None


def _json_too_deep(body: bytes, limit: int) -> bool:
    """Whether a JSON text nests arrays or objects deeper than `limit` (brackets inside strings do
    not count). Checked before anything parses it: Python's parser recurses, and a few thousand
    levels were a RecursionError, a 500, on every JSON endpoint."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for bracket in _BRACKETS.findall(_JSON_STRINGS.sub(b'""', body)):
        depth += 1 if bracket in b"[{" else -1
        if depth > limit:
            return True
    return False


_JSON_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")
MAX_JSON_DEPTH = 32


@functools.lru_cache(maxsize=1024)  # per view and method: the answer is fixed once routes are registered
def _takes_json(view_func, method: str) -> bool:
    """Whether this operation reads a JSON body (a flask-smorest `@blp.arguments` in json)."""
    handler = getattr(getattr(view_func, "view_class", None), method.lower(), None)
    parameters = getattr(handler, "_apidoc", {}).get("arguments", {}).get("parameters", ())
    return any(parameter.get("in") == "json" for parameter in parameters)


def refuse_unreadable_bodies() -> Response | None:
    """A body the operation cannot read is refused before any view: another media type than JSON
    (415, not a 422 saying fields are missing), or JSON nested deeper than anyone sends (400)."""
    if request.url_rule is None or request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    view = current_app.view_functions.get(request.url_rule.endpoint)
    if not _takes_json(view, request.method):
        return None
    sent = request.content_length or request.headers.get("Content-Type") or request.headers.get("Transfer-Encoding")
    if sent and not request.is_json:
        return coded_problem("unsupported_media_type", "Send the body as JSON (Content-Type: application/json).")
    if request.is_json and _json_too_deep(request.get_data(cache=True), MAX_JSON_DEPTH):
        return coded_problem("malformed_request", f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels.")
    return None


def register(app: Flask) -> None:
    """Install the handlers last, so they win over flask-smorest's own JSON error handler."""
    app.before_request(refuse_nul_characters)
    app.before_request(refuse_unreadable_bodies)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(DataError, handle_data_error)
    for database_error in (OperationalError, InterfaceError, PoolTimeoutError):
        app.register_error_handler(database_error, handle_database_error)
    app.register_error_handler(RecursionError, handle_recursion_error)
    app.register_error_handler(Exception, handle_unexpected)
