"""Notifications: learns of the world only through shop.core.events signals; wired in by init_app."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Receivers (messages and the checkout's consent), the messages, preferences, unsubscribe and
    Twilio routes, the data-rights receivers, the marketing console's pages, and the delivery sweep
    for the scheduler."""
    from notifications import (  # noqa: F401 (consent_models and models: their tables)
        campaigns,
        consent,
        consent_models,
        consent_views,
        delivery,
        delivery_status,
        models,
        privacy,
        receivers,
        rendering,
        senders,
        twilio_webhooks,
        unsubscribe,
        views,
    )
    from notifications.console.views import bp as console_bp
    from shop.core.extensions import api
    from shop.core.scheduler import register_sweep

    senders.check_config(app.config)
    rendering.check_brand(app.config)
    receivers.init_app(app)
    consent.connect(app)
    privacy.connect(app)
    for module in (views, delivery_status, consent_views, unsubscribe, twilio_webhooks):
        api.register_blueprint(module.blp, url_prefix="/api/v1")
    app.register_blueprint(console_bp)
    campaigns.init_app(app)  # before the delivery sweep: --once sends what a campaign step just queued
    register_sweep(app, "deliver_outbox", app.config["OUTBOX_SWEEP_SECONDS"], delivery.deliver_due)
