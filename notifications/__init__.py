"""Notifications: learns of the world only through shop.core.events signals; wired in by init_app."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Receivers, the messages API and the Twilio status webhook, and the delivery sweep for the scheduler."""
    from notifications import delivery, delivery_status, models, receivers, rendering, senders, views  # noqa: F401
    from shop.core.extensions import api

    senders.check_config(app.config)
    rendering.check_brand(app.config)
    receivers.init_app(app)
    api.register_blueprint(views.blp, url_prefix="/api/v1")
    api.register_blueprint(delivery_status.blp, url_prefix="/api/v1")
    app.extensions.setdefault("omnishop.sweeps", {})["deliver_outbox"] = (
        app.config["OUTBOX_SWEEP_SECONDS"], delivery.deliver_due)
