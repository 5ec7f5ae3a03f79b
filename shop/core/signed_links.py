"""Signed, expiring tokens for links in messages (unsubscribe, confirm an opt-in): made and read one way.

A link's reader names its two error codes; a tampered token is `<kind>_link_invalid` (404) and an
old one `<kind>_link_expired` (410), so every link answers a bad token alike.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from shop.core.errors import DomainError


def dumps(salt: str, data: Any) -> str:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt).dumps(data)


def loads(salt: str, token: str, *, max_age_setting: str, kind: str, expired_detail: str) -> Any:
    """The token's data; DomainError `<kind>_link_expired` past the setting's age, else
    `<kind>_link_invalid` when it was not signed by us with this salt."""
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)
    try:
        return serializer.loads(token, max_age=current_app.config[max_age_setting])
    except SignatureExpired as exc:
        raise DomainError(f"{kind}_link_expired", expired_detail) from exc
    except BadSignature as exc:
        raise invalid(kind) from exc


def invalid(kind: str) -> DomainError:
    """The refusal of a link that is not (or no longer) one of ours."""
    return DomainError(f"{kind}_link_invalid", f"This {kind} link is not valid.")
