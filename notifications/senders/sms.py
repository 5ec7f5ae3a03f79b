"""Texts through Twilio's SDK. SMS_TWILIO_API_BASE sends its requests elsewhere (a stand-in in tests).

Twilio has no idempotency key for messages: a request that timed out may still have been sent,
and the retry sends it again (at least once, see docs/notifications.md). The SDK itself never
retries. 429, 5xx, 401/403 (our credentials), timeouts and refused connections are transient;
any other 4xx (an invalid, unreachable or opted-out number) is permanent.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from flask import current_app
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from notifications.models import Message
from notifications.rendering import Rendered
from notifications.senders.base import PermanentSendError, SendResult, TransientSendError

STATUS_CALLBACK_PATH = "/api/v1/webhooks/twilio/status"


class RebasedHttpClient(TwilioHttpClient):
    """TwilioHttpClient that sends each request to another scheme and host, same path and query."""

    def __init__(self, base: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.base = base

    def request(self, method, url, *args, **kwargs):
        if self.base:
            parts = urlsplit(url)
            url = self.base + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().request(method, url, *args, **kwargs)


def _client() -> Client:
    config = current_app.config
    cache = current_app.extensions.setdefault("omnishop.twilio", {})
    key = (config["SMS_TWILIO_ACCOUNT_SID"], config["SMS_TWILIO_API_BASE"], config["SMS_TIMEOUT_SECONDS"])
    if key not in cache:
        http = RebasedHttpClient(config["SMS_TWILIO_API_BASE"], timeout=config["SMS_TIMEOUT_SECONDS"])
        cache[key] = Client(config["SMS_TWILIO_ACCOUNT_SID"], config["SMS_TWILIO_AUTH_TOKEN"], http_client=http)
    return cache[key]


def status_callback(message: Message) -> str | None:
    """Where Twilio reports delivery; our id is in the URL, so a report may come before our own write."""
    base = current_app.config["PUBLIC_BASE_URL"]
    return f"{base}{STATUS_CALLBACK_PATH}?message_id={message.id}" if base else None


class TwilioSender:
    def send(self, message: Message, rendered: Rendered) -> SendResult:
        sender = current_app.config["SMS_FROM"]
        origin = {"messaging_service_sid": sender} if sender.startswith("MG") else {"from_": sender}
        callback = status_callback(message)
        if callback:
            origin["status_callback"] = callback
        try:
            sent = _client().messages.create(to=message.to_address, body=rendered.sms, **origin)
        except TwilioRestException as exc:
            reason = f"twilio {exc.status} {exc.code}: {exc.msg}"
            if exc.status == 429 or exc.status >= 500 or exc.status in (401, 403):
                raise TransientSendError(reason) from exc
            raise PermanentSendError(reason) from exc  # the request itself is wrong: e.g. 21211, invalid 'To'
        except requests.RequestException as exc:  # timed out, refused, reset
            raise TransientSendError(f"twilio unavailable: {type(exc).__name__}") from exc
        return SendResult(provider_id=sent.sid)
