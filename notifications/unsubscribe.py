# placeholder: CONSENT engineer replaces
"""One-click unsubscribe links, as the shared design states them; the real module replaces this."""

from __future__ import annotations

from flask import current_app
from itsdangerous import URLSafeSerializer


def make_url(channel: str, address: str, purpose: str = "marketing") -> str:
    token = URLSafeSerializer(current_app.config["SECRET_KEY"], salt="unsubscribe").dumps(
        {"c": channel, "a": address, "p": purpose})
    return f"{current_app.config['PUBLIC_BASE_URL']}/api/v1/unsubscribe/{token}"
