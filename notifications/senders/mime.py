"""The email as sent: multipart text + HTML (+ inline QR), a Message-ID derived from the dedupe key.

A message sent twice (a worker killed between the send and the status write) carries the same
Message-ID both times, so a receiving system that deduplicates on it shows it once. Marketing mail
has RFC 8058 one-click unsubscribe headers; transactional mail has none.
"""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from flask import current_app

from notifications.models import Message
from notifications.rendering import Rendered
from shop.core.clock import clock


def message_id(dedupe_key: str, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "omnishop.local"
    return f"<{hashlib.sha256(dedupe_key.encode()).hexdigest()[:40]}@{domain}>"


def build(message: Message, rendered: Rendered) -> EmailMessage:
    config = current_app.config
    mail = EmailMessage()
    mail["From"] = config["MAIL_FROM"]
    mail["To"] = message.to_address
    mail["Subject"] = rendered.subject
    mail["Date"] = format_datetime(clock.now())
    mail["Message-ID"] = message_id(message.dedupe_key, config["MAIL_FROM"])
    if config["MAIL_REPLY_TO"]:
        mail["Reply-To"] = config["MAIL_REPLY_TO"]
    if message.purpose == "marketing" and rendered.unsubscribe_url:
        mail["List-Unsubscribe"] = f"<{rendered.unsubscribe_url}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(rendered.text)
    mail.add_alternative(rendered.html, subtype="html")
    if rendered.images:
        html_part = mail.get_payload()[1]
        for image in rendered.images:
            html_part.add_related(image.data, maintype="image", subtype=image.subtype,
                                  cid=f"<{image.cid}>", disposition="inline",
                                  filename=f"{image.cid.partition('@')[0]}.{image.subtype}")
    return mail
