"""Bearer tokens, roles and store scoping: issuing, checking and revoking tokens, and the view decorators."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, has_request_context, request
from flask_smorest import Blueprint
from sqlalchemy import String, bindparam, cast, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from shop.accounts.models import ApiToken, User, user_stores
from shop.core.clock import utcnow
from shop.core.errors import DomainError
from shop.core.extensions import as_loaded, db
from shop.core.http import problems
from shop.core.plans import prepared

STAFF_ROLES = ("staff", "marketing", "admin")
SECURITY_DOC = Blueprint.doc(security=[{"bearerAuth": []}])


def hash_password(password: str) -> str:
    """Hashed by PASSWORD_HASH_METHOD (scrypt); a hash keeps its method, so changing it locks nobody out."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


@functools.cache
def _dummy_hash(method: str) -> str:
    """A real hash of a random password, checked when the email is unknown, so timing tells nothing."""
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(email: str, password: str) -> User:
    """The active user with these credentials, or a 401 that does not say which part was wrong."""
    user = db.session.scalar(db.select(User).where(User.email == email.strip().lower()))
    stored = user.password_hash if user else _dummy_hash(current_app.config["PASSWORD_HASH_METHOD"])
    ok = check_password_hash(stored, password)
    if not user or not ok or not user.active:
        raise DomainError("invalid_credentials", "Email or password is wrong.")
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


@dataclass(frozen=True)
class Caller:
    """Who sent a valid bearer token, as the token lookup found them: enough for every role and
    store check without loading the user (hot staff paths never do)."""

    id: int  # the user's
    role: str
    token_id: int
    store_ids: frozenset[int]


_TOKENS, _USERS = ApiToken.__table__, User.__table__
# One Core statement: the token, its user's columns, and the user's store ids.
_TOKEN_LOOKUP = (
    select(
        _TOKENS.c.id.label("token_id"), _TOKENS.c.expires_at.label("token_expires_at"),
        _TOKENS.c.revoked_at.label("token_revoked_at"), *_USERS.c,
        select(func.aggregate_strings(cast(user_stores.c.store_id, String), ","))
        .where(user_stores.c.user_id == _TOKENS.c.user_id)
        .scalar_subquery().label("store_ids"),
    )
    .join_from(_TOKENS, _USERS)
    .where(_TOKENS.c.token_hash == bindparam("token_hash"))
)
_USER_FIELDS = tuple(column.key for column in _USERS.c)


def current_caller() -> Caller | None:
    """The caller of a valid token (cached on the request), None for an anonymous caller; a 401 for
    a token sent that is unknown, expired or revoked."""
    cache = request.environ
    if "omnishop.caller" not in cache:
        plain, caller = _bearer(), None
        if plain:
            with prepared(db.session):  # every signed-in request: worth a reused plan
                row = db.session.execute(_TOKEN_LOOKUP, {"token_hash": hash_token(plain)}).first()
        else:
            row = None
        if row and not row.token_revoked_at and row.token_expires_at > utcnow() and row.active:
            caller = Caller(row.id, row.role, row.token_id,
                            frozenset(int(i) for i in (row.store_ids or "").split(",") if i))
            cache["omnishop.user_row"] = row
        cache["omnishop.caller"] = caller
        cache["omnishop.bad_token"] = bool(plain) and caller is None
    if cache["omnishop.bad_token"]:
        # A token that no longer works is a 401 even where signing in is optional (a cart, an
        # order): treating its sender as a guest would hide the expiry and act for the wrong person.
        raise DomainError("unauthorized", "This token has expired or was revoked: sign in again.",
                          headers={"WWW-Authenticate": 'Bearer realm="omnishop", error="invalid_token"'})
    return cache["omnishop.caller"]


def current_token() -> ApiToken | None:
    caller = current_caller()
    return db.session.get(ApiToken, caller.token_id) if caller else None


def current_user() -> User | None:
    """The caller's account, made from the token lookup's row (no second query)."""
    if current_caller() is None:
        return None
    row = request.environ["omnishop.user_row"]
    return as_loaded(User, **{field: getattr(row, field) for field in _USER_FIELDS})


def require_user() -> Caller:
    caller = current_caller()
    if caller is None:
        raise DomainError(
            "unauthorized",
            "Sign in: send a valid bearer token.",
            headers={"WWW-Authenticate": 'Bearer realm="omnishop"'},
        )
    return caller


def require_role(*roles: str) -> Caller:
    caller = require_user()
    if caller.role not in roles:
        raise DomainError("forbidden", "Your role may not do this.")
    return caller


def is_staff_of(who: User | Caller | None, store_id: int) -> bool:
    """Admins act on every store; staff only on the stores they are assigned to."""
    if who is None:
        return False
    if who.role == "admin":
        return True
    if who.role != "staff":
        return False
    caller = current_caller() if has_request_context() else None
    if caller is not None and caller.id == who.id:
        return store_id in caller.store_ids
    return store_id in who.store_ids


def require_store_staff(store_id: int) -> Caller:
    caller = require_role("staff", "admin")
    if not is_staff_of(caller, store_id):
        raise DomainError("wrong_store", "You are not staff of this store.")
    return caller


def login_required(func: Callable) -> Callable:
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        require_user()
        return func(*args, **kwargs)

    return problems("unauthorized")(SECURITY_DOC(wrapper))


def roles_required(*roles: str) -> Callable[[Callable], Callable]:
    def decorator(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            require_role(*roles)
            return func(*args, **kwargs)

        return problems("unauthorized", "forbidden")(SECURITY_DOC(wrapper))

    return decorator


def store_staff_required(func: Callable) -> Callable:
    """For views with a `store_id` URL argument: staff of that store, or an admin."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        require_store_staff(kwargs["store_id"])
        return func(*args, **kwargs)

    return problems("unauthorized", "forbidden", "wrong_store")(SECURITY_DOC(wrapper))
