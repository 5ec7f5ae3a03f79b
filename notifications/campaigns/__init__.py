"""Campaigns: a trigger enrols a subject, steps send marketing messages through the outbox, exits end
it, attribution credits orders (docs/campaigns.md). Wired in by `init_app` (from notifications.init_app).

The engine's door for new triggers: `notifications.campaigns.enrolment.enrol(trigger, subject, ...)`.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Tables, receivers, the API and the sweep that advances enrolments."""
    from notifications.campaigns import advance, models, receivers, views  # noqa: F401 (models: the tables)
    from shop.core.extensions import api
    from shop.core.scheduler import register_sweep

    receivers.connect(app)
    api.register_blueprint(views.blp, url_prefix="/api/v1")
    register_sweep(app, "advance_campaigns", app.config["CAMPAIGNS_SWEEP_SECONDS"], advance.sweep)
