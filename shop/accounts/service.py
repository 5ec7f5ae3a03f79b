"""Account services: sign-up, staff accounts, profiles, lookup and email verification. Never commits."""

from __future__ import annotations

from collections.abc import Sequence

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import or_

from shop.accounts.auth import hash_password
from shop.accounts.models import ROLES, User, user_stores
from shop.core import events
from shop.core.clock import utcnow
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.pagination import Page, keyset

VERIFY_SALT = "email-verification"
VERIFY_MAX_AGE = 3 * 24 * 3600


def _ensure_email_free(email: str) -> None:
    if db.session.scalar(db.select(User.id).where(User.email == email)) is not None:
        raise DomainError("email_taken", "An account with this email already exists.")


def request_sign_up(email: str, password: str, name: str, phone: str | None = None) -> None:
    """Sign-up as the API offers it: the same answer whether or not the email has an account, so
    nobody learns who shops here. A new email gets its account; a known one gets nothing but a
    signal (its owner may be told, by email, that someone tried), after the same password hashing."""
    user_id = db.session.scalar(db.select(User.id).where(User.email == email))
    if user_id is None:
        sign_up(email, password, name, phone)
        return
    hash_password(password)  # the same work as a real sign-up: the time taken tells nothing
    events.sign_up_for_existing_account.send(current_app._get_current_object(), user_id=user_id, email=email)


def sign_up(email: str, password: str, name: str, phone: str | None = None) -> User:
    """A new customer account; sends the signal that asks for an email verification."""
    _ensure_email_free(email)
    user = User(email=email, password_hash=hash_password(password), name=name, phone=phone)
    db.session.add(user)
    db.session.flush()
    events.customer_signed_up.send(current_app._get_current_object(), user_id=user.id)
    events.email_verification_requested.send(
        current_app._get_current_object(),
        user_id=user.id,
        email=user.email,
        token=verification_token(user),
    )
    return user


def create_user(email: str, password: str, role: str, store_ids: Sequence[int] = ()) -> User:
    """A staff, marketing or admin account (the CLI's create-user); staff must have a store."""
    if role not in ROLES:
        raise DomainError("unknown_role", f"Role must be one of {', '.join(ROLES)}.")
    if role == "staff" and not store_ids:
        raise DomainError("store_required", "A staff account needs at least one store.")
    _ensure_email_free(email)
    user = User(
        email=email, password_hash=hash_password(password), role=role, email_verified_at=utcnow()
    )
    db.session.add(user)
    db.session.flush()
    if store_ids:
        db.session.execute(
            user_stores.insert(), [{"user_id": user.id, "store_id": s} for s in store_ids]
        )
    return user


def update_profile(user: User, changes: dict) -> User:
    for key in ("name", "phone"):
        if key in changes:
            setattr(user, key, changes[key])
    return user


def find_customers(query: str, limit: int, cursor: str | None = None) -> Page:
    """Customers whose email, phone or name contains the query (the counter's look-up), one page."""
    text = query.strip().lower()
    stmt = (
        db.select(User)
        .where(User.role == "customer")
        .where(
            or_(
                User.email.contains(text, autoescape=True),
                User.phone.contains(text.replace(" ", ""), autoescape=True),
                db.func.lower(User.name).contains(text, autoescape=True),
            )
        )
    )
    return keyset(stmt, (User.id,), limit=limit, cursor=cursor)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=VERIFY_SALT)


def verification_token(user: User) -> str:
    return _serializer().dumps({"uid": user.id, "email": user.email})


def verify_email(user: User, token: str) -> User:
    """Mark the email verified if the signed token is for this user and this email, and fresh."""
    try:
        data = _serializer().loads(token, max_age=VERIFY_MAX_AGE)
    except SignatureExpired as exc:
        raise DomainError("token_expired", "This verification link has expired.") from exc
    except BadSignature as exc:
        raise DomainError("token_invalid", "This verification token is not valid.") from exc
    if not isinstance(data, dict) or data.get("uid") != user.id or data.get("email") != user.email:
        raise DomainError("token_invalid", "This verification token is not for this account.")
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        db.session.flush()
        events.customer_email_verified.send(
            current_app._get_current_object(), user_id=user.id, email=user.email
        )
    return user
