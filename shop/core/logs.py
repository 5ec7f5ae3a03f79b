"""Request ids and JSON-lines logging that never writes passwords, tokens, card or full phone data."""

from __future__ import annotations

import logging
import re
import sys
import uuid

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_SECRET_PATTERNS = [
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1[redacted]"),
    (
        re.compile(r"(?i)(\"?(?:password|token|secret|client_secret|card)\"?\s*[:=]\s*\"?)[^\",\s]+"),
        r"\1[redacted]",
    ),
    (re.compile(r"\b(?:\d[ -]?){13,19}\b"), "[card-redacted]"),
    (re.compile(r"\+\d{6,14}(\d{2})\b"), r"+***\1"),
    # an email keeps its first character and its domain: enough to tell cases apart, not to reach anyone
    (re.compile(r"\b([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"), r"\1***@\2"),
]
# Path segments this long are keys (a guest cart's id, a signed recovery or unsubscribe link): the
# access log keeps their first characters only.
_KEY_SEGMENT = re.compile(r"[A-Za-z0-9_.~=-]{16,}")


def mask_path(path: str) -> str:
    return _KEY_SEGMENT.sub(lambda m: m.group()[:4] + "...", path)


def redact(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RequestContextFilter(logging.Filter):
    """Adds the request id, method and path to every record, and redacts secrets from the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id") if has_request_context() else None
        message = record.getMessage()
        record.msg, record.args = redact(message), ()
        return True


class RedactingJsonFormatter(JsonFormatter):
    def formatException(self, ei) -> str:  # noqa: N802 - logging's own name
        return redact(super().formatException(ei))


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (gunicorn and test runners swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(app: Flask) -> None:
    handler = StderrHandler()
    handler.setFormatter(
        RedactingJsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not getattr(h, "_omnishop", False)]
    handler._omnishop = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])

    @app.before_request
    def _assign_request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID_OK.match(incoming) else uuid.uuid4().hex

    access = logging.getLogger("omnishop.access")

    @app.after_request
    def _log_and_tag(response):
        response.headers["X-Request-ID"] = g.get("request_id") or uuid.uuid4().hex
        if access.isEnabledFor(logging.INFO):  # the path is masked only for a line that is written
            access.info("%s %s %s", request.method, mask_path(request.path), response.status_code)
        return response
