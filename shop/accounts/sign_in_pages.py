"""The sign-in and sign-out pages of every page area (the counter tablet, the marketing console).

One view of each, registered on each area's blueprint by `add_to` (endpoints `<area>.sign_in` and
`<area>.sign_out`), so every area signs in, limits attempts, refuses other roles and redirects only
inside the site the same way. The sign-in is limited as POST /auth/tokens is: per address and per
account (the email typed), counted per area's endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from marshmallow import Schema, fields, validate

from shop.accounts import sessions
from shop.core import errors, forms
from shop.core.errors import DomainError
from shop.core.extensions import limiter
from shop.core.transactions import transaction


class SignInForm(Schema):
    email = fields.String(required=True, validate=validate.Length(1, 254))
    password = fields.String(required=True, validate=validate.Length(1, 200))


SIGN_IN = SignInForm()


@dataclass(frozen=True)
class SignInPage:
    area: sessions.Area
    template: str  # extends the area's layout and includes pages/_sign_in_form.html
    landing: str  # the endpoint a person lands on after signing in (unless `next` says where they were)


_pages: dict[str, SignInPage] = {}  # by blueprint name


def safe_next(target: str | None) -> str | None:
    """Only a path of this site (no scheme, no host): never an open redirect."""
    if not target:
        return None
    parts = urlsplit(target)
    # A browser reads "/\\host" as "//host": no backslash at all.
    local = target.startswith("/") and not target.startswith("//") and "\\" not in target
    return target if local and not parts.scheme and not parts.netloc else None


def _account_key() -> str:
    """Rate-limit key per account: the email of a sign-in form (or of a manager's unlock call)."""
    body = request.get_json(silent=True) if request.is_json else None
    email = body.get("email") if isinstance(body, dict) else request.form.get("email")
    return f"account:{str(email).strip().lower()}" if email else "account:-"


per_address = limiter.limit(lambda: current_app.config["TOKEN_RATE_LIMIT_PER_ADDRESS"], methods=["POST"])
per_account = limiter.limit(lambda: current_app.config["TOKEN_RATE_LIMIT_PER_ACCOUNT"], key_func=_account_key,
                            methods=["POST"])


def to_sign_in():
    """Where a page sends a visitor without a session: its area's sign-in, then back here."""
    return redirect(url_for(f"{request.blueprint}.sign_in", next=request.path))


@per_address
@per_account
def sign_in():
    """The area's roles sign in with the accounts they use for the API; then where they were going."""
    page = _pages[request.blueprint]
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template(page.template, idle=sessions.signed_out_idle(), next=target)
    try:
        with transaction():
            data = forms.form(SIGN_IN)
            sessions.sign_in(data["email"], data["password"], page.area)
    except DomainError as exc:
        return render_template(page.template, error=exc.detail, next=target), exc.status
    return redirect(target or url_for(page.landing))


def sign_out():
    with transaction():
        sessions.sign_out()
    return redirect(url_for(f"{request.blueprint}.sign_in"))


def _too_many(exc):
    if request.endpoint == f"{request.blueprint}.sign_in":
        page = _pages[request.blueprint]
        return render_template(page.template, error="Too many attempts: wait a minute."), 429
    return errors.handle_http_exception(exc)


def add_to(bp: Blueprint, prefix: str, page: SignInPage) -> None:
    """`<prefix>/sign-in` and `<prefix>/sign-out` on the area's blueprint, its CSRF check on every
    state-changing request, `csrf_token()` in its templates, and the sign-in page for a 429."""
    _pages[bp.name] = page
    bp.add_url_rule(f"{prefix}/sign-in", "sign_in", sign_in, methods=["GET", "POST"])
    bp.add_url_rule(f"{prefix}/sign-out", "sign_out", sign_out, methods=["POST"])
    bp.before_request(sessions.check_csrf)
    bp.context_processor(lambda: {"csrf_token": sessions.csrf_token})
    bp.register_error_handler(429, _too_many)
