"""Secrets refused when weak (docs/security.md); the HTML pages' headers live in shop/core/pages.py."""

from __future__ import annotations

import logging

from flask import Flask

log = logging.getLogger(__name__)

MIN_SECRET_BYTES = 32
# Values that have been a default somewhere (this app's old default, Flask's docs): never secret.
KNOWN_DEFAULTS = frozenset({"", "dev-only-change-me", "dev", "secret", "changeme", "change-me", "test-secret"})

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
