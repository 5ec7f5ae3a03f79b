"""One-click unsubscribe: signed links in messages, a page that asks, a POST that unsubscribes.

Mail scanners open links before people do, so a GET only shows the page and its button; the POST
(the button, or a mail app's RFC 8058 `List-Unsubscribe=One-Click`) withdraws. Browsers get HTML
pages, with errors shown as pages; a client asking for JSON gets JSON and problem+json.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from jinja2 import Environment

from notifications import consent
from notifications.consent_models import CHANNELS, PURPOSES
from notifications.schemas_consent import UnsubscribeLinkSchema
from shop.accounts.contact import mask_email, mask_phone
from shop.core import signed_links
from shop.core.errors import DomainError
from shop.core.http import PROBLEM_CONTENT_TYPE, problems
from shop.core.transactions import transactional

SALT = "unsubscribe"
LINK_CODES = ("unsubscribe_link_invalid", "unsubscribe_link_expired")  # what read() refuses with
JSON_TYPES = ("application/json", PROBLEM_CONTENT_TYPE)
WORDING = "Unsubscribed with the one-click link in a message."

STYLE = ("body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}"
         "button{font-size:1rem;padding:.6rem 1.2rem;cursor:pointer}.code{color:#777;font-size:.85rem}")
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
SECURITY_HEADERS = {
    # No script at all; the one style block by its hash; the form posts only back here.
    "Content-Security-Policy": f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token is in the URL
    "Cache-Control": "no-store",
}
_PAGE = Environment(autoescape=True).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{ title }} - {{ brand }}</title><style>{{ style }}</style></head>
<body><main><h1>{{ title }}</h1><p>{{ message }}</p>
{% if form %}<form method="post">{% if form == "Unsubscribe" %}<input type="hidden" name="List-Unsubscribe"
value="One-Click">{% endif %}<button type="submit">{{ form }}</button></form>{% endif %}
{% if code %}<p class="code">{{ status }} {{ code }}</p>{% endif %}</main></body></html>
""")


@dataclass(frozen=True)
class Link:
    channel: str
    address: str
    purpose: str

    @property
    def what(self) -> str:
        return consent.describe(self.channel, self.purpose)

    @property
    def masked(self) -> str:
        return mask_email(self.address) if self.channel == "email" else mask_phone(self.address)


def make_url(channel: str, address: str, purpose: str = "marketing") -> str:
    """The absolute link that unsubscribes this address from this channel and purpose."""
    if channel not in CHANNELS or purpose not in PURPOSES:
        raise ValueError(f"no unsubscribe link for {channel}/{purpose}")
    token = signed_links.dumps(SALT, {"c": channel, "a": consent.address_for(channel, address), "p": purpose})
    return f"{current_app.config['PUBLIC_BASE_URL']}/api/v1/unsubscribe/{token}"


def read(token: str) -> Link:
    """The link's contents, or a 404 (tampered, not ours) or a 410 (older than the settings allow)."""
    data = signed_links.loads(SALT, token, max_age_setting="UNSUBSCRIBE_MAX_AGE_SECONDS", kind="unsubscribe",
                              expired_detail="This unsubscribe link has expired: use the link in a newer message.")
    if (not isinstance(data, dict) or data.get("c") not in CHANNELS or data.get("p") not in PURPOSES
            or not isinstance(data.get("a"), str) or not data["a"]):
        raise signed_links.invalid("unsubscribe")
    return Link(data["c"], data["a"], data["p"])


def is_unsubscribed(link: Link) -> bool:
    last = consent.latest(link.channel, link.purpose, address=link.address)
    return last is not None and last.state == consent.WITHDRAWN


def unsubscribe(link: Link) -> None:
    """Withdraw what the link names for its address (again: nothing more is recorded)."""
    if not is_unsubscribed(link):
        consent.record_for_address(link.channel, link.purpose, consent.WITHDRAWN, "unsubscribe_link", WORDING,
                                   link.address)


def wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", *JSON_TYPES]) in JSON_TYPES


def page(status: int, title: str, message: str, *, form: str | None = None, code: str | None = None) -> Response:
    """A small HTML page of these links (no script); `form` is the label of its one POST button."""
    html = _PAGE.render(title=title, message=message, form=form, code=code, status=status, style=STYLE,
                        brand=current_app.config["BRAND_NAME"])
    response = Response(html, status=status, mimetype="text/html")
    response.headers.update(SECURITY_HEADERS)
    return response


def _answer(link: Link, title: str, message: str, *, form: bool = False) -> Response | dict:
    if wants_json():
        return {"channel": link.channel, "purpose": link.purpose, "address": link.masked,
                "unsubscribed": is_unsubscribed(link)}
    return page(200, title, message, form="Unsubscribe" if form else None)


def _link_or_page(token: str) -> Link | Response:
    """The link; a refused one as a page for a browser (the problem for a JSON client is raised)."""
    try:
        return read(token)
    except DomainError as exc:
        if wants_json():
            raise
        return page(exc.status, "This link does not work", exc.detail, code=exc.code)


# Browsers get every answer as a page: the spec lists text/html beside JSON and problem+json
# (shop.core.http keeps these when it writes the problem responses of LINK_CODES).
_HTML = {"content": {"text/html": {"schema": {"type": "string"}}}}
HTML_DOC = {"responses": {200: _HTML, 404: _HTML, 410: _HTML}}  # int keys: merged into the generated ones


blp = Blueprint("unsubscribe", __name__, description="One-click unsubscribe links (HTML pages)")


@blp.route("/unsubscribe/<string:token>")
class Unsubscribe(MethodView):
    @blp.response(200, UnsubscribeLinkSchema, description="The page with its button; nothing changes")
    @blp.doc(**HTML_DOC)
    @problems(*LINK_CODES)
    def get(self, token):
        """What the link would stop, and a button; a GET never unsubscribes (mail scanners open links)."""
        link = _link_or_page(token)
        if isinstance(link, Response):
            return link
        if is_unsubscribed(link):
            return _answer(link, "You are unsubscribed", f"{link.masked} gets no {link.what} from us.")
        return _answer(link, f"Unsubscribe from {link.what}?",
                       f"{link.masked} will get no more {link.what} from us.", form=True)

    @transactional
    @blp.response(200, UnsubscribeLinkSchema, description="Unsubscribed (or already)")
    @blp.doc(**HTML_DOC)
    @problems(*LINK_CODES)
    def post(self, token):
        """Unsubscribe: the page's button, or a mail app's RFC 8058 `List-Unsubscribe=One-Click` POST."""
        link = _link_or_page(token)
        if isinstance(link, Response):
            return link
        unsubscribe(link)
        return _answer(link, "You are unsubscribed", f"{link.masked} will get no more {link.what} from us.")
