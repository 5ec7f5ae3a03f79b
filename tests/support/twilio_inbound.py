"""Texts to our number as Twilio posts them: form fields signed with RequestValidator over the public URL."""

from __future__ import annotations

import uuid

from twilio.request_validator import RequestValidator

AUTH_TOKEN = "twilio-test-auth-token"
INBOUND_PATH = "/api/v1/webhooks/twilio/inbound"
OUR_NUMBER = "+15005550006"


def inbound_params(body: str, from_: str) -> dict:
    return {"AccountSid": "AC" + "0" * 32, "MessageSid": "SM" + uuid.uuid4().hex, "From": from_, "To": OUR_NUMBER,
            "Body": body, "NumMedia": "0", "NumSegments": "1", "FromCountry": "US", "ApiVersion": "2010-04-01"}


def signature(url: str, params: dict, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def text(client, app, body: str, from_: str = "+14155550123", *, token: str = AUTH_TOKEN, url: str | None = None):
    """Post an incoming text signed as Twilio signs it: over the URL Twilio was given (PUBLIC_BASE_URL)."""
    params = inbound_params(body, from_)
    url = url or app.config["PUBLIC_BASE_URL"] + INBOUND_PATH
    return client.post(INBOUND_PATH, data=params, headers={"X-Twilio-Signature": signature(url, params, token)})
