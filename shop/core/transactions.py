"""The one commit boundary: a view, a command or a job says once that it is transactional; only here commits.

- `@transactional` on a view method, directly above `@blp.response` (below `@blp.arguments` and the
  auth decorators; checked when the module loads): the reply is built, dumped and serialized first,
  then the session commits once. A commit that fails becomes the error reply, so no success is sent
  for work that was not kept.
- Anything raised rolls back, except `DomainError(keep_changes=True)`: a refusal that must still be
  remembered (a wrong pickup code counted, a failed capture or refund recorded) commits what was
  done and is raised on; the error handler only renders it.
- `@transactional(idempotent="refund:{order_id}")` also claims the Idempotency-Key before the view
  runs (the scope is formatted from the URL arguments; the parsed body is the fingerprint) and
  stores the reply's body and status in the same commit; a replay returns that reply untouched,
  and only to the caller who sent the key, after `access=` (the view's access check) has passed.
- `with transaction():` is the same boundary for CLI commands and scheduled jobs.

Only a success is ever replayed. A refusal that rolls back takes its claim with it, so a retry with
the same key runs again; a keep_changes refusal ends the same way: its claim is released (deleted in
the commit that keeps its changes), never left without a reply, which would answer every retry of
that key with 409 `request_in_progress` forever. Storing the refusal instead would turn a passing
failure (the payment provider unreachable) into a permanent answer for that key, and the client
would need a new key to try again, which is what the key exists to avoid. Running again is safe:
a call the first attempt made outside our database carries the provider's own idempotency key
(`refund-...`, `pi-capture-...`), so an answer that was lost is found rather than paid twice, and
what the refusal kept (a counted wrong code, a recorded failure) is meant to count per attempt.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Response

from shop.core import idempotency
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.http import headers

log = logging.getLogger(__name__)

_open: ContextVar[bool] = ContextVar("omnishop_transaction_open", default=False)


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # pragma: no cover - a broken connection must not hide the original error
        log.exception("rollback failed")


def _commit() -> None:
    try:
        db.session.commit()
    except BaseException:
        _rollback()
        raise


@contextmanager
def transaction() -> Iterator[None]:
    """Commit once when the block ends; roll back if it raises (a keep_changes refusal commits)."""
    if _open.get():
        raise RuntimeError("a transaction is already open: one boundary per request, command or job")
    token = _open.set(True)
    try:
        yield
    except DomainError as exc:
        if exc.keep_changes:
            _commit()
        else:
            _rollback()
        raise
    except BaseException:
        _rollback()
        raise
    else:
        _commit()
    finally:
        _open.reset(token)


def _check_placement(func: Callable) -> None:
    """Below @blp.arguments (an idempotent route needs the parsed body), above @blp.response (the
    reply must exist before the commit): anywhere else the mistake is silent, so refuse it here."""
    doc = getattr(func, "_apidoc", {})
    if "response" not in doc or "arguments" in doc:
        raise TypeError(f"{func.__qualname__}: put @transactional directly above @blp.response "
                        "and below @blp.arguments")


def _once(scope: str, func: Callable, args: tuple, kwargs: dict, access: Callable | None) -> Response:
    """Replay the stored reply to this caller's key, or run, then store the reply (or release the claim).

    `access` (the view's own access check, given the URL arguments) runs first: a replay skips the
    view body, so whoever may no longer reach the resource gets the refusal, not the stored reply.
    """
    if access is not None:
        access(**kwargs)
    parsed = args[1:]  # after `self`: what @blp.arguments parsed
    claim = idempotency.claim(scope, idempotency.header_key(), parsed[0] if len(parsed) == 1 else list(parsed))
    if claim.replay is not None:
        return idempotency.replay(claim)
    try:
        response = func(*args, **kwargs)
    except DomainError as exc:
        if exc.keep_changes:
            idempotency.release(claim)
        raise
    idempotency.store(claim, response)
    return response


def transactional(view: Callable | None = None, /, *, idempotent: str | None = None,
                  access: Callable | None = None):
    """Mark a view method as one transaction; with `idempotent`, the Idempotency-Key scope, and
    `access`, the check that must pass before a stored reply is replayed."""

    def decorate(func: Callable) -> Callable:
        _check_placement(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with transaction():
                if idempotent is None:
                    return func(*args, **kwargs)
                return _once(idempotent.format(**kwargs), func, args, kwargs, access)

        wrapper.transactional = True
        return headers("Idempotency-Key")(wrapper) if idempotent else wrapper

    return decorate(view) if view is not None else decorate
