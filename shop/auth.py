"""Bearer tokens, roles and store scoping: issuing, checking and revoking tokens, and the view decorators."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from collections.abc import Callable

from flask import current_app, has_request_context, request
from flask_smorest import Blueprint
from sqlalchemy import String, bindparam, cast, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from shop.auth_models import ApiToken, User, user_stores
from shop.errors import DomainError
from shop.extensions import db, utcnow

STAFF_ROLES = ("staff", "marketing", "admin")
# A real scrypt hash of a random password: checked when the email is unknown, so timing tells nothing.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))

SECURITY_DOC = Blueprint.doc(security=[{"bearerAuth": []}])


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(email: str, password: str) -> User:
    """The active user with these credentials, or a 401 that does not say which part was wrong."""
    user = db.session.scalar(db.select(User).where(User.email == email.strip().lower()))
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    if not user or not ok or not user.active:
        raise DomainError(401, "invalid_credentials", "Email or password is wrong.")
    return user


def issue_token(user: User) -> tuple[str, ApiToken]:
    """A new random token for the user; only its hash is stored, the plain value is returned once."""
    ttl_key = "CUSTOMER_TOKEN_TTL_SECONDS" if user.role == "customer" else "STAFF_TOKEN_TTL_SECONDS"
    plain = secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        token_hash=hash_token(plain),
        expires_at=utcnow() + dt.timedelta(seconds=current_app.config[ttl_key]),
    )
    db.session.add(token)
    db.session.flush()
    return plain, token


def revoke(token: ApiToken) -> None:
    token.revoked_at = utcnow()


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


# The caller's store ids ride along with the token lookup, so a staff check costs no extra query.
_TOKEN_LOOKUP = select(
    ApiToken,
    select(func.aggregate_strings(cast(user_stores.c.store_id, String), ","))
    .where(user_stores.c.user_id == ApiToken.user_id)
    .scalar_subquery(),
).where(ApiToken.token_hash == bindparam("token_hash"))


def current_token() -> ApiToken | None:
    """The caller's valid token (cached on the request), or None for an anonymous caller."""
    cache = request.environ
    if "omnishop.api_token" not in cache:
        plain = _bearer()
        token, store_ids = None, ""
        row = plain and db.session.execute(_TOKEN_LOOKUP, {"token_hash": hash_token(plain)}).first()
        if row:
            token, store_ids = row
            if token.revoked_at or token.expires_at <= utcnow() or not token.user.active:
                token = None
        cache["omnishop.api_token"] = token
        cache["omnishop.store_ids"] = frozenset(int(i) for i in (store_ids or "").split(",") if i)
    return cache["omnishop.api_token"]


def current_user() -> User | None:
    token = current_token()
    return token.user if token else None


def require_user() -> User:
    user = current_user()
    if user is None:
        raise DomainError(
            401,
            "unauthorized",
            "Sign in: send a valid bearer token.",
            headers={"WWW-Authenticate": 'Bearer realm="omnishop"'},
        )
    return user


def require_role(*roles: str) -> User:
    user = require_user()
    if user.role not in roles:
        raise DomainError(403, "forbidden", "Your role may not do this.")
    return user


def is_staff_of(user: User | None, store_id: int) -> bool:
    """Admins act on every store; staff only on the stores they are assigned to."""
    if user is None:
        return False
    if user.role == "admin":
        return True
    if user.role != "staff":
        return False
    token = current_token() if has_request_context() else None
    if token is not None and token.user_id == user.id:
        return store_id in request.environ["omnishop.store_ids"]
    return store_id in user.store_ids


def require_store_staff(store_id: int) -> User:
    user = require_role("staff", "admin")
    if not is_staff_of(user, store_id):
        raise DomainError(403, "wrong_store", "You are not staff of this store.")
    return user


def login_required(func: Callable) -> Callable:
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        require_user()
        return func(*args, **kwargs)

    return SECURITY_DOC(wrapper)


def roles_required(*roles: str) -> Callable[[Callable], Callable]:
    def decorator(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            require_role(*roles)
            return func(*args, **kwargs)

        return SECURITY_DOC(wrapper)

    return decorator


def store_staff_required(func: Callable) -> Callable:
    """For views with a `store_id` URL argument: staff of that store, or an admin."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        require_store_staff(kwargs["store_id"])
        return func(*args, **kwargs)

    return SECURITY_DOC(wrapper)
