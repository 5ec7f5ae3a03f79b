"""Notifications: learns of the world only through shop.core.events signals; wired in by init_app."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Receivers (messages and the checkout's consent), the messages, preferences, unsubscribe and
    Twilio routes, the data-rights receivers, the marketing console's pages, the delivery sweep for
    the scheduler, and the outbox's backlog for /metrics."""
    from notifications import (  # noqa: F401 (consent_models and models: their tables)
        backlog,
        campaigns,
        consent,
        consent_models,
        consent_views,
        delivery,
        delivery_status,
        models,
        opt_in,
        opt_in_views,
        privacy,
        receivers,
        rendering,
        senders,
        sms_keyword_models,
        sms_keywords,
        stock_alert_models,
        stock_alert_views,
        stock_alerts,
        twilio_webhooks,
        unsubscribe,
        views,
    )
    from notifications.console.views import bp as console_bp
    from shop.core.extensions import api
    from shop.core.scheduler import register_sweep

    senders.check_config(app.config)
    rendering.check_brand(app.config)
    sms_keywords.check_config(app.config, twilio_webhooks.RESERVED_WORDS)
    receivers.init_app(app)
    consent.connect(app)
    opt_in.connect(app)
    privacy.connect(app)
    stock_alerts.connect(app)
    for module in (views, delivery_status, consent_views, unsubscribe, opt_in_views, twilio_webhooks,
                   stock_alert_views):
        api.register_blueprint(module.blp, url_prefix="/api/v1")
    backlog.init_app(app)
    app.register_blueprint(console_bp)
    campaigns.init_app(app)  # before the delivery sweep: --once sends what a campaign step just queued
    register_sweep(app, "deliver_outbox", app.config["OUTBOX_SWEEP_SECONDS"], delivery.deliver_due)
    register_sweep(app, "lapse_unconfirmed", app.config["OPT_IN_LAPSE_SWEEP_SECONDS"], opt_in.lapse_unconfirmed)
