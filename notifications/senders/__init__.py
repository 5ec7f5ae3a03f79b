"""The senders, chosen by configuration: MAIL_BACKEND=smtp|file, SMS_BACKEND=twilio|file."""

from __future__ import annotations

import os

from flask import current_app

from notifications.senders.base import Sender
from notifications.senders.files import FileMailSender, FileSmsSender
from notifications.senders.sms import TwilioSender
from notifications.senders.smtp import SECURITY, SmtpSender

BACKENDS = {
    ("email", "smtp"): SmtpSender, ("email", "file"): FileMailSender,
    ("sms", "twilio"): TwilioSender, ("sms", "file"): FileSmsSender,
}
SETTING = {"email": "MAIL_BACKEND", "sms": "SMS_BACKEND"}


def for_channel(channel: str) -> Sender:
    return BACKENDS[(channel, current_app.config[SETTING[channel]])]()


def check_config(config) -> None:
    """A wrong backend name stops the app at start-up, not at the first message."""
    for channel, key in SETTING.items():
        if (channel, config[key]) not in BACKENDS:
            names = sorted(b for c, b in BACKENDS if c == channel)
            raise RuntimeError(f"{key} must be one of {', '.join(names)}, got {config[key]!r}")
    if config["MAIL_SMTP_SECURITY"] not in SECURITY:
        raise RuntimeError(f"MAIL_SMTP_SECURITY must be one of {', '.join(SECURITY)}")
    ca_file = config.get("MAIL_SMTP_CA_FILE")
    if ca_file and not os.path.isfile(ca_file):
        raise RuntimeError(f"MAIL_SMTP_CA_FILE names no file: {ca_file!r}")
