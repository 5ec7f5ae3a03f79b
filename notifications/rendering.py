"""Jinja2 templates -> what a sender sends: subject, text and HTML for mail, one short text for SMS.

Templates live in notifications/templates/<name>/<locale>.{subject,txt,html,sms}.j2; HTML is
autoescaped. Every channel gets the brand (config BRAND_*); marketing mail also gets the postal
address and its unsubscribe link, transactional mail does not. The pickup QR code is made here
(segno) and travels as an inline image.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import segno
from flask import current_app
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, select_autoescape

from notifications import formatting, unsubscribe
from notifications.outbox import LOCALES

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
QR_CID = "pickup-qr@omnishop"


class UnknownTemplate(LookupError):
    """No such template, or not for that channel."""


@dataclass(frozen=True)
class Brand:
    name: str
    primary_color: str
    accent_color: str
    logo_url: str
    footer: str
    postal_address: str
    support_email: str


@dataclass(frozen=True)
class InlineImage:
    cid: str
    data: bytes
    subtype: str = "png"


@dataclass
class Rendered:
    subject: str = ""
    text: str = ""
    html: str = ""
    sms: str = ""
    images: list[InlineImage] = field(default_factory=list)
    unsubscribe_url: str | None = None


def brand(config=None) -> Brand:
    config = config or current_app.config
    return Brand(config["BRAND_NAME"], config["BRAND_PRIMARY_COLOR"], config["BRAND_ACCENT_COLOR"],
                 config["BRAND_LOGO_URL"], config["BRAND_FOOTER"], config["BRAND_POSTAL_ADDRESS"],
                 config["BRAND_SUPPORT_EMAIL"])


def check_brand(config) -> None:
    """Colours go into style attributes: only #rgb or #rrggbb, refused at start-up otherwise."""
    for key in ("BRAND_PRIMARY_COLOR", "BRAND_ACCENT_COLOR"):
        if not COLOR.match(config[key]):
            raise RuntimeError(f"{key} must be a colour like #1f4e79, got {config[key]!r}")


_env = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(["html.j2"]),
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)


def templates() -> list[str]:
    """Every template a message may name (a folder of templates; `_layout` is shared parts)."""
    return sorted(p.name for p in TEMPLATE_DIR.iterdir() if p.is_dir() and not p.name.startswith("_"))


def channels_of(name: str) -> list[str]:
    folder = TEMPLATE_DIR / name
    found = []
    if (folder / "en.txt.j2").exists():
        found.append("email")
    if (folder / "en.sms.j2").exists():
        found.append("sms")
    return found


def _qr_png(payload: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(payload, error="m").save(buffer, kind="png", scale=6, border=2)
    return buffer.getvalue()


def _render(name: str, locale: str, part: str, context: dict) -> str:
    try:
        template = _env.get_template(f"{name}/{locale}.{part}.j2")
    except TemplateNotFound as exc:
        raise UnknownTemplate(f"{name}/{locale}.{part}") from exc
    return template.render(context).strip()


def render(name: str, channel: str, locale: str, context: dict, *, purpose: str, to: str,
           inline_images: str = "cid") -> Rendered:
    """What one message says. `inline_images="data"` puts the QR in the HTML itself (for previews)."""
    if name not in templates() or channel not in channels_of(name):
        raise UnknownTemplate(f"{name} has no {channel} template")
    locale = locale if locale in LOCALES else "en"
    unsubscribe_url = unsubscribe.make_url(channel, to, purpose) if purpose == "marketing" else None
    qr = _qr_png(context["pickup_qr"]) if channel == "email" and context.get("pickup_qr") else None
    qr_src = f"cid:{QR_CID}" if inline_images == "cid" else (
        "data:image/png;base64," + base64.b64encode(qr).decode() if qr else "")
    values = {**context, "brand": brand(), "purpose": purpose, "locale": locale, "to": to,
              "marketing": purpose == "marketing", "unsubscribe_url": unsubscribe_url, "qr_src": qr_src,
              "has_qr": qr is not None,
              "money": lambda amount, currency=None: formatting.money(amount, currency or context.get("currency"),
                                                                    locale),
              "local_time": lambda value, zone=None: formatting.local_time(
                  value, zone or context.get("store_timezone"), locale)}
    if channel == "sms":
        return Rendered(sms=_render(name, locale, "sms", values), unsubscribe_url=unsubscribe_url)
    html = _render(name, locale, "html", values)
    images = [InlineImage(QR_CID, qr)] if qr is not None and f"cid:{QR_CID}" in html else []
    return Rendered(subject=" ".join(_render(name, locale, "subject", values).split()),
                    text=_render(name, locale, "txt", values), html=html, images=images,
                    unsubscribe_url=unsubscribe_url)
