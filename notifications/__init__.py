"""Notifications: learns of the world only through shop.events signals; wired in by init_app."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Connect the signal receivers. The outbox, senders and campaigns arrive with their issues;
    until then the development outbox writes account emails to instance/outbox/."""
    from notifications import dev_outbox

    dev_outbox.init_app(app)
    from notifications import consent, consent_models, consent_views, twilio_webhooks, unsubscribe  # noqa: F401
    from shop.core.extensions import api

    consent.connect(app)
    for module in (consent_views, unsubscribe, twilio_webhooks):
        api.register_blueprint(module.blp, url_prefix="/api/v1")
