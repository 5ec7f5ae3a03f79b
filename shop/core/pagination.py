"""Opaque cursors for keyset pagination: the client gets a token, never a raw offset or key."""

from __future__ import annotations

import base64
import binascii
import json

from shop.core.errors import DomainError


def encode_cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_cursor(token: str | None, kind: type):
    """The key a cursor carries, checked to be of `kind`; a 422 for anything tampered with."""
    if token is None:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise DomainError("invalid_cursor", "This cursor is not one we gave out.") from exc
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DomainError("invalid_cursor", "This cursor is not one we gave out.")
    return value


def page(items: list, limit: int, key) -> dict:
    """Items fetched with limit + 1 rows -> {items, next_cursor}."""
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_cursor": encode_cursor(key(items[-1])) if more else None}
