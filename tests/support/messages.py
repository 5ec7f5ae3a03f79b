"""Helpers for the notifications tests: read the outbox, sign as Twilio signs, run a delivery worker process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select
from twilio.request_validator import RequestValidator

from notifications.models import Message
from shop.core.extensions import db

ROOT = Path(__file__).resolve().parents[2]
WORKER_KEYS = ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "DEV_OUTBOX_DIR", "PUBLIC_BASE_URL")
WORKER_PREFIXES = ("MAIL_", "SMS_", "BRAND_", "OUTBOX_")


def outbox(**filters) -> list[Message]:
    """The outbox rows matching column == value filters, oldest first, read fresh from the database."""
    stmt = select(Message).order_by(Message.id).execution_options(populate_existing=True)
    for key, value in filters.items():
        stmt = stmt.where(getattr(Message, key) == value)
    return list(db.session.scalars(stmt))


def twilio_signed(client, path: str, form: dict, token: str, base: str):
    """POST form data to our app signed as Twilio signs it: the public URL plus the sorted params."""
    signature = RequestValidator(token).compute_signature(base + path, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


def start_worker(app) -> subprocess.Popen:
    """deliver_due() in a separate process on the same database and senders, so a test can kill it."""
    config = {k: v for k, v in app.config.items() if k in WORKER_KEYS or k.startswith(WORKER_PREFIXES)}
    code = ("import json, sys\nfrom shop.app import create_app\n"
            "app = create_app(json.loads(sys.argv[1]))\n"
            "with app.app_context():\n"
            "    from notifications.delivery import deliver_due\n"
            "    print(json.dumps(deliver_due()))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", code, json.dumps(config)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def confirmation_path(mail) -> str:
    """The path of the double opt-in link in a confirmation mail (its text part), for the test client."""
    text = mail.get_body(("plain",)).get_content()
    [url] = [word for word in text.split() if "/api/v1/consent/confirm/" in word]
    return url[url.index("/api/v1/"):]


def confirm_marketing_email(client, to: str) -> None:
    """Click the newest confirmation link queued for this address (read from the outbox row)."""
    [*_, message] = outbox(template="confirm_marketing_email", to_address=to)
    url = message.context["confirm_url"]
    resp = client.post(url[url.index("/api/v1/"):], headers={"Accept": "application/json"})
    assert resp.status_code == 200 and resp.get_json()["confirmed"] is True, resp.get_data(as_text=True)
