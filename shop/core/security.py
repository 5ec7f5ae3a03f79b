"""Secrets refused when weak, and the security headers every HTML page carries (docs/security.md)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, Response

log = logging.getLogger(__name__)

MIN_SECRET_BYTES = 32
# Values that have been a default somewhere (this app's old default, Flask's docs): never secret.
KNOWN_DEFAULTS = frozenset({"", "dev-only-change-me", "dev", "secret", "changeme", "change-me", "test-secret"})

HTML_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def content_security_policy(asset_origins: list[str] = ()) -> str:
    """No inline script, no framing, nothing from elsewhere but the API docs' assets when
    OPENAPI_SWAGGER_UI_URL names another origin (a path on this server needs none)."""
    extra = "".join(f" {origin}" for origin in asset_origins)
    return "; ".join([
        "default-src 'self'", f"script-src 'self'{extra}", f"style-src 'self'{extra}", "img-src 'self' data:",
        "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
    ])


def _origin(url: str) -> list[str]:
    parts = urlsplit(url)
    return [f"{parts.scheme}://{parts.netloc}"] if parts.scheme in ("http", "https") and parts.netloc else []


class InsecureConfiguration(RuntimeError):
    """The app will not start like this; the message names the setting to change."""


def weak_secret(value: str | None) -> str | None:
    """Why a SECRET_KEY is not good enough, or None when it is."""
    if not value or value in KNOWN_DEFAULTS:
        return "it is missing or a well-known default"
    if len(value.encode()) < MIN_SECRET_BYTES:
        return f"it is shorter than {MIN_SECRET_BYTES} bytes"
    return None


def check_secrets(app: Flask) -> None:
    """Outside development, refuse to start with a SECRET_KEY anyone could know or guess: it signs
    the email-verification and cart-recovery links, so with it anyone could forge them."""
    reason = weak_secret(app.config.get("SECRET_KEY"))
    if reason is None:
        return
    if app.config.get("OMNISHOP_ENV") == "development":
        log.warning("SECRET_KEY is weak (%s): acceptable in development only", reason)
        return
    raise InsecureConfiguration(
        f"Refusing to start: SECRET_KEY is not safe ({reason}). Set the SECRET_KEY environment variable "
        f"to at least {MIN_SECRET_BYTES} random bytes, e.g. the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(48))'` "
        "(or OMNISHOP_ENV=development on a laptop, where one is generated for you)."
    )


def init_app(app: Flask) -> None:
    check_secrets(app)
    docs_assets = _origin(app.config.get("OPENAPI_SWAGGER_UI_URL", ""))
    headers = {"Content-Security-Policy": content_security_policy(docs_assets), **HTML_HEADERS}

    @app.after_request
    def add_html_headers(response: Response) -> Response:
        """Every HTML page (the API docs, the tablet and marketing pages, whoever adds them) gets
        the headers; JSON replies need none of them."""
        if response.mimetype == "text/html":
            for name, value in headers.items():
                response.headers.setdefault(name, value)
        return response
