"""Idempotency-Key for creates a client may retry: a replay returns the first reply, a changed body is refused.

A key belongs to the caller who sent it (as Stripe scopes keys per account): it is stored with the
caller (`user:<id>`, or `anonymous`), so the same key from anyone else is another, unknown key for
them, and their request runs through every access check like any first request (and is refused
there). Nothing stored under one caller's key is ever replayed to another.

The key is claimed by inserting its row first (ON CONFLICT DO NOTHING): a concurrent twin waits on the
unique index until the first request commits, then reads its reply (on PostgreSQL); nothing is
created twice (a view may instead claim the key with its reply, at its end: transactions._claimed_last). The claim,
the reply and the commit are driven by shop.core.transactions (`@transactional(idempotent=...)`),
which also says why a refusal releases the claim instead of being stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass

from flask import Response, jsonify, request
from sqlalchemy import JSON, String, UniqueConstraint, bindparam, exc, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from shop.accounts import auth
from shop.core import appends
from shop.core.clock import utcnow
from shop.core.errors import DomainError
from shop.core.extensions import UTCDateTime, as_loaded, db
from shop.core.plans import prepared


class IdempotentReply(db.Model):
    """The first reply to a create that a client may retry, kept by (scope, Idempotency-Key)."""

    __tablename__ = "idempotent_replies"
    __table_args__ = (UniqueConstraint("scope", "caller", "key", name="uq_idempotent_replies_scope_caller_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(100))
    caller: Mapped[str] = mapped_column(String(40), default="anonymous", server_default="anonymous")
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    body: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# Built once (the values are passed when run): a statement built per request costs its
# construction and its cache key, more Python than the round trip.
# Core, not the ORM's INSERT: the reply object is made from the values (extensions.as_loaded).
_CLAIMS = {name: make(IdempotentReply.__table__).on_conflict_do_nothing(index_elements=["scope", "caller", "key"])
           .returning(IdempotentReply.__table__.c.id)
           for name, make in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))}
_STORE = update(IdempotentReply.__table__).where(IdempotentReply.__table__.c.id == bindparam("reply_id"))
# A key claimed by the reply itself, written with the request's last writes (`store_claimed`).
_REPLY = insert(IdempotentReply.__table__)
_UNIQUE_KEY = "uq_idempotent_replies_scope_caller_key"


@dataclass
class Claim:
    reply: IdempotentReply
    replay: tuple[dict, int] | None = None


def header_key() -> str:
    key = request.headers.get("Idempotency-Key", "")
    if not key:
        raise DomainError("idempotency_key_required",
                          "Send an Idempotency-Key header so a retry cannot order twice.")
    if not _KEY.match(key):
        raise DomainError("idempotency_key_invalid", "The Idempotency-Key must be 1-255 visible ASCII characters.")
    return key


def key_owner() -> str:
    """Whose key it is: the signed-in user, or an anonymous caller (a guest, whose cart id is their key)."""
    caller = auth.current_caller()
    return f"user:{caller.id}" if caller else "anonymous"


def _fingerprint(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _existing(scope: str, caller: str, key: str, fingerprint: str) -> Claim | None:
    found = db.session.scalar(select(IdempotentReply).where(
        IdempotentReply.scope == scope, IdempotentReply.caller == caller, IdempotentReply.key == key))
    if found is None:
        return None
    if found.request_hash != fingerprint:
        raise DomainError("idempotency_key_reused",
                          "This Idempotency-Key was used with a different request.")
    if found.status_code is None:
        raise DomainError("request_in_progress", "The first request with this key is still running.")
    return Claim(found, (found.body, found.status_code))


def request_values(scope: str, key: str, payload) -> dict:
    """The key's row as this request would write it (its reply aside)."""
    return {"scope": scope, "caller": key_owner(), "key": key, "request_hash": _fingerprint(payload),
            "created_at": utcnow()}


def claim(scope: str, key: str, payload) -> Claim:
    """Replay the stored reply to this caller's key, or claim the key (store() or release() ends the claim).

    The claim is one statement, `INSERT ... ON CONFLICT DO NOTHING RETURNING id`: a first request
    gets its row's id (the row is the values it sent); a retry (or a twin, once the first committed)
    gets nothing and reads the reply.
    (It was a read, then the insert in a savepoint: four round trips for every create.)"""
    values = request_values(scope, key, payload)
    with prepared(db.session):  # an INSERT on its unique key: nothing in its plan can go stale
        reply_id = db.session.scalar(_CLAIMS[db.session.get_bind().dialect.name], values)
    if reply_id is not None:
        return Claim(as_loaded(IdempotentReply, id=reply_id, status_code=None, body=None, **values))
    existing = _existing(scope, values["caller"], key, values["request_hash"])
    if existing is None:  # the twin's row went (released) between the two statements
        raise DomainError("request_in_progress", "Retry this request.")
    return existing


def store(claim: Claim, response: Response) -> None:
    """Keep the reply as sent (body and status), to be replayed to every retry of the key (written
    with the view's other writes inside `appends.together()`; `claim.reply` is not read again)."""
    with prepared(db.session):  # an UPDATE by key: nothing in its plan can go stale
        appends.write(_STORE, {"body": response.get_json(), "status_code": response.status_code,
                               "reply_id": claim.reply.id})


def store_claimed(values: dict, response: Response) -> None:
    """Claim the key and keep its reply in one write, the request's last (`request_values`, not
    `claim`, began it): a key someone else's committed request holds makes it fail (`taken`)."""
    appends.write(_REPLY, {**values, "body": response.get_json(), "status_code": response.status_code})


def taken(error: exc.IntegrityError) -> bool:
    """Whether the write failed on the key's uniqueness: a request with this key committed first."""
    orig = error.orig
    name = getattr(getattr(orig, "diag", None), "constraint_name", None)
    if name is not None:
        return name == _UNIQUE_KEY
    return "idempotent_replies.scope, idempotent_replies.caller, idempotent_replies.key" in str(orig)  # SQLite


def earlier(values: dict) -> Claim | None:
    """The reply a request with this key (`request_values`) committed, or None; raises as `claim`
    does for a changed request or a first request still running."""
    return _existing(values["scope"], values["caller"], values["key"], values["request_hash"])


def replay(claim: Claim) -> Response:
    """The stored reply, serialized as the first one was (the same bytes)."""
    body, status = claim.replay
    response = jsonify(body)
    response.status_code = status
    return response


def release(claim: Claim) -> None:
    """Give the key up: the request ended in a refusal, so a retry runs again."""
    db.session.delete(claim.reply)


def unanswered(scope: str) -> list[IdempotentReply]:
    """Claims of `scope` committed without a reply: a request killed after its checkpoint
    (transactions.checkpoint(keep_claim=True)); whoever settles its work answers them."""
    return list(db.session.scalars(select(IdempotentReply).where(
        IdempotentReply.scope == scope, IdempotentReply.status_code.is_(None))))


def answer(reply: IdempotentReply, body: dict, status_code: int) -> None:
    """Keep `body` as the reply to a claim whose request never answered, for its retries."""
    reply.body, reply.status_code = body, status_code
