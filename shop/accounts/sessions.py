"""Signing people in to the server-rendered pages: a session cookie, its CSRF token, idle sign-out.

One session mechanism for every page area (the counter tablet for staff, the marketing console):
an `Area` names the roles its pages serve; a person of another role is refused (403), whoever has
no session goes to the area's sign-in page (shop.accounts.sign_in_pages).

The signed cookie (Flask's session) names an `api_tokens` row whose plain value was never kept:
the row is what makes a page session end for real (sign-out revokes it, it expires with a staff
token's lifetime, a deactivated account stops at once), and the cookie holds nothing that would
work as a bearer token on the API. Activity is the time of the last request a person made; the
queue's background refresh does not count, so a tablet left alone signs out.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import current_app, request, session

from shop.accounts import auth
from shop.accounts.models import ApiToken, User
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db

PAGE_ROLES = ("staff", "marketing", "admin")  # the roles some page area serves: no shopper holds a page session
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Area:
    """A set of pages and who they are for."""

    roles: tuple[str, ...]
    refusal: str  # what a signed-in person of another role reads (403)
    prompt: str  # why an anonymous visitor is sent to sign in


@dataclass(frozen=True)
class PageUser:
    user: User
    token: ApiToken


def sign_in(email: str, password: str, area: Area) -> User:
    """Check the credentials (as POST /auth/tokens does) and start a fresh session for the area's roles."""
    user = auth.authenticate(email, password)
    if user.role not in area.roles:
        raise DomainError("forbidden", area.refusal)
    _, token = auth.issue_token(user)
    session.clear()  # no value from before the sign-in survives it (session fixation)
    session.update(uid=user.id, tid=token.id, seen=_now(), csrf=secrets.token_urlsafe(32))
    return user


def sign_out() -> None:
    """Revoke the session's token (the cookie stops working even if a copy is kept) and forget it."""
    token = db.session.get(ApiToken, session["tid"]) if "tid" in session else None
    if token is not None and token.revoked_at is None:
        auth.revoke(token)
    session.clear()


def _now() -> int:
    return int(clock.now().timestamp())


def idle_limit() -> int:
    return current_app.config["SESSION_IDLE_SECONDS"]


def current() -> PageUser | None:
    """The signed-in person, or None: never signed in, signed out, expired, deactivated, or idle
    longer than SESSION_IDLE_SECONDS (which also signs the session out)."""
    if "tid" not in session:
        return None
    token = db.session.get(ApiToken, session["tid"])
    valid = (token is not None and token.user_id == session.get("uid") and token.revoked_at is None
             and token.expires_at > clock.now() and token.user.active and token.user.role in PAGE_ROLES)
    if not valid:
        session.clear()
        return None
    if _now() - int(session.get("seen", 0)) > idle_limit():
        sign_out()
        session["idle"] = True  # the sign-in page says why
        return None
    return PageUser(token.user, token)


def require(area: Area, *, activity: bool = True) -> User:
    """The signed-in person if the area serves their role: a 401 when there is none (an idle
    sign-out's revocation is kept), a 403 for another role. `activity=False` for a page's own
    background refresh, so a screen left alone still signs out."""
    page_user = current()
    if page_user is None:
        raise DomainError("unauthorized", area.prompt, keep_changes=True)
    if page_user.user.role not in area.roles:
        raise DomainError("forbidden", area.refusal)
    if activity:
        touch()
    return page_user.user


def touch() -> None:
    """A person did something: the idle clock starts again."""
    session["seen"] = _now()


def signed_out_idle() -> bool:
    return bool(session.pop("idle", False))


def csrf_token() -> str:
    """The session's CSRF token (one is made for a visitor not signed in yet: the sign-in form has it too)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    """A state-changing request must carry the session's token (header or form field) and, when the
    browser says where it comes from, come from this origin."""
    if request.method in SAFE_METHODS:
        return
    expected = session.get("csrf", "")
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
    origin = request.headers.get("Origin")
    if origin is not None and origin != request.host_url.rstrip("/"):
        raise DomainError("csrf_failed", "This request came from another site.")
    if not expected or not secrets.compare_digest(str(sent), str(expected)):
        raise DomainError("csrf_failed", "The form has expired or was not sent from this page: reload and try again.")

