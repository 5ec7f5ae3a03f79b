"""Is this request from Twilio? X-Twilio-Signature over the public URL it called and the sorted form.

The URL is rebuilt from PUBLIC_BASE_URL (what we gave Twilio), not from the Host header a proxy
may have rewritten. Every Twilio webhook view is wrapped in @twilio_signed, which checks before
anything of the request is parsed and declares its 403 `twilio_signature_invalid` in the spec (not
the Stripe webhook's 400 `bad_signature`: a caller that is not Twilio is forbidden, not malformed).
"""

from __future__ import annotations

import functools

from flask import current_app, request
from twilio.request_validator import RequestValidator

from shop.core.errors import DomainError
from shop.core.http import problems


def public_url() -> str:
    path = request.full_path[:-1] if request.full_path.endswith("?") else request.full_path
    return current_app.config["PUBLIC_BASE_URL"] + path


def require_twilio() -> None:
    token = current_app.config["SMS_TWILIO_AUTH_TOKEN"]
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature or not RequestValidator(token).validate(public_url(), request.form, signature):
        raise DomainError("twilio_signature_invalid", "This request is not signed by Twilio.")


def twilio_signed(view):
    """Check the signature first (outermost: put it above @blp.arguments and @transactional)."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        require_twilio()
        return view(*args, **kwargs)

    return problems("twilio_signature_invalid")(wrapper)
