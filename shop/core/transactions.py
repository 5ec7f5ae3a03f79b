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
  `claim_last=` (with `together=True`): a request it accepts claims the key with its reply, in its
  last write, instead of first (`_claimed_last`: a checkout paid at the store).
- `with transaction():` is the same boundary for CLI commands and scheduled jobs (nesting raises).
- `after_commit(work)`: a provider call a change decided (a void, a refund) must not run under the
  change's row locks, nor before the change is kept. Registered inside the transaction, `work`
  runs once the transaction has committed (a rollback drops it), with no transaction open; it
  opens its own (`with transaction():` each step: `work` may return the next step, e.g. the write
  recording the provider's answer). Its failure is logged and never reaches the caller, whose
  change is kept: what it left undone is marked in the database (`void_pending`) for a retry
  sweep. In a view it runs after the commit and before the reply leaves.
- `checkpoint()`: inside a view, commit what was done so far and go on in a new transaction, for
  the one view whose reply depends on a provider call made between two short transactions (the
  handover: mark the capture pending, commit, capture with no lock held, lock again and finish).
  Every lock is gone after it, so the view locks and reads its rows again. Refused under an
  Idempotency-Key claim, which would be kept without a reply, unless the view says it ends every
  path after it in a reply or a keep_changes refusal (`keep_claim=True`: the refund).

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
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any

from flask import Response
from sqlalchemy import exc as sa_exc

from shop.core import appends, idempotency
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.http import headers

log = logging.getLogger(__name__)

_open: ContextVar[bool] = ContextVar("omnishop_transaction_open", default=False)
_after: ContextVar[list | None] = ContextVar("omnishop_after_commit", default=None)
# Under an Idempotency-Key: "first" (claimed before the view ran) or "last" (claimed by its last write).
_claimed: ContextVar[str | None] = ContextVar("omnishop_idempotency_claimed", default=None)


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
    """Commit once when the block ends; roll back if it raises (a keep_changes refusal commits).
    What was registered with after_commit runs once the commit is done."""
    if _open.get():
        raise RuntimeError("a transaction is already open: one boundary per request, command or job")
    pending: list[Callable[[], Any]] = []
    token, after = _open.set(True), _after.set(pending)
    kept = False
    try:
        yield
    except DomainError as exc:
        if exc.keep_changes:
            _commit()
            kept = True
        else:
            _rollback()
        raise
    except BaseException:
        _rollback()
        raise
    else:
        _commit()
        kept = True
    finally:
        _open.reset(token)
        _after.reset(after)
        if kept:
            _run_after(pending)


def after_commit(work: Callable[[], Any] | None) -> None:
    """Run `work` after the open transaction commits, in transactions of its own (None: nothing)."""
    if work is None:
        return
    pending = _after.get()
    if pending is None:
        raise RuntimeError("after_commit needs an open transaction: its work must wait for a commit")
    pending.append(work)


def _run_after(pending: list[Callable[[], Any]]) -> None:
    for work in pending:
        try:
            while callable(work):  # each step in its own transaction; a step may return the next
                with transaction():
                    work = work()
        except Exception:
            log.exception("work after the commit failed; a retry sweep will take it up")


def checkpoint(*, keep_claim: bool = False) -> None:
    """Commit the open transaction's work so far (its after_commit work runs now) and go on in a
    new transaction; every row lock is released, so read again what the rest relies on.

    Under an Idempotency-Key claim only with `keep_claim=True`: the claim is then committed without
    a reply (a retry meanwhile is told `request_in_progress`), so the view must end in a reply or in
    a keep_changes refusal, which releases it (the refund: every failure after its checkpoint is one)."""
    if not _open.get():
        raise RuntimeError("checkpoint needs an open transaction")
    if _claimed.get() == "last":  # committing the work would leave the key free for a twin to do it again
        raise RuntimeError("no checkpoint when the Idempotency-Key is claimed by the last write")
    if _claimed.get() and not keep_claim:
        raise RuntimeError("no checkpoint under an Idempotency-Key: the claim would be kept without a reply")
    pending = _after.get()
    _commit()
    _after.set([])
    _open.set(False)
    try:
        _run_after(pending)
    finally:
        _open.set(True)


def _check_placement(func: Callable) -> None:
    """Below @blp.arguments (an idempotent route needs the parsed body), above @blp.response (the
    reply must exist before the commit): anywhere else the mistake is silent, so refuse it here."""
    doc = getattr(func, "_apidoc", {})
    if "response" not in doc or "arguments" in doc:
        raise TypeError(f"{func.__qualname__}: put @transactional directly above @blp.response "
                        "and below @blp.arguments")


def _once(scope: str, func: Callable, args: tuple, kwargs: dict, access: Callable | None,
          checked_in_view: bool = False, together: bool = False, claim_last: Callable | None = None) -> Response:
    """Replay the stored reply to this caller's key, or run, then store the reply (or release the claim).

    `access` (the view's own access check, given the URL arguments) runs first: a replay skips the
    view body, so whoever may no longer reach the resource gets the refusal, not the stored reply.
    With `checked_in_view` (the body starts with the same check) it runs only when the key was not
    freshly claimed, still before any stored reply or claim refusal is answered: a first request
    then pays for the check once, in the view, and a refusal there rolls its claim back.
    With `together` the view's `appends.write`s and the stored reply go as one statement at the end;
    when `claim_last(payload)` also says so, the key is claimed by that write (`_claimed_last`).
    """
    if access is not None and not checked_in_view:
        access(**kwargs)
    parsed = args[1:]  # after `self`: what @blp.arguments parsed
    payload = parsed[0] if len(parsed) == 1 else list(parsed)
    if together and claim_last is not None and claim_last(payload):
        return _claimed_last(idempotency.request_values(scope, idempotency.header_key(), payload),
                             func, args, kwargs, access)
    try:
        claim = idempotency.claim(scope, idempotency.header_key(), payload)
    except DomainError:  # the key's refusal (reused, in progress), to a caller who may still reach it
        if access is not None and checked_in_view:
            access(**kwargs)
        raise
    if claim.replay is not None:
        if access is not None and checked_in_view:
            access(**kwargs)
        return idempotency.replay(claim)
    token = _claimed.set("first")
    try:
        with appends.together() if together else nullcontext():
            response = func(*args, **kwargs)
            idempotency.store(claim, response)
    except DomainError as exc:
        if exc.keep_changes:
            idempotency.release(claim)
        raise
    finally:
        _claimed.reset(token)
    return response


def _claimed_last(values: dict, func: Callable, args: tuple, kwargs: dict, access: Callable | None) -> Response:
    """Run the view, then claim the key with its reply, in the view's last statement: one statement
    fewer than claiming first. For a view that changes nothing outside the database before its
    first row lock, and whose work a first request with the same key makes impossible to repeat
    (a checkout paid at the store: the cart is converted once). A retry or a twin then runs into
    that: its refusal (the cart is no longer active), or the key's row when it writes (a request
    that committed first), rolls its work back and answers with the first request's reply, as a
    claim made first would have (a changed request: 422; the first still running: 409)."""
    token = _claimed.set("last")  # no checkpoint: the key's row comes with the last write
    try:
        with appends.together():
            response = func(*args, **kwargs)
            idempotency.store_claimed(values, response)
        return response
    except DomainError as exc:
        if exc.keep_changes:
            raise
        earlier = _earlier(values, access, kwargs)
        if earlier is None:
            raise
        return earlier
    except sa_exc.IntegrityError as exc:
        if not idempotency.taken(exc):
            raise
        earlier = _earlier(values, access, kwargs)
        if earlier is None:  # the row in the way went meanwhile (its request gave the key up)
            raise DomainError("request_in_progress", "Retry this request.") from exc
        return earlier
    finally:
        _claimed.reset(token)


def _earlier(values: dict, access: Callable | None, kwargs: dict) -> Response | None:
    """The reply a request with this key committed, after this attempt's work is rolled back (and
    what it left for after the commit dropped); None when there is none. Only to a caller who
    may still reach the resource (`access`), as a replay of a claim made first."""
    _rollback()
    _after.get().clear()
    try:
        claim = idempotency.earlier(values)
    except DomainError:  # changed request, or the first still running: said to a caller who may reach it
        if access is not None:
            access(**kwargs)
        raise
    if claim is None:
        return None
    if access is not None:
        access(**kwargs)
    return idempotency.replay(claim)


def transactional(view: Callable | None = None, /, *, idempotent: str | None = None,
                  access: Callable | None = None, checked_in_view: bool = False, together: bool = False,
                  claim_last: Callable | None = None):
    """Mark a view method as one transaction; with `idempotent`, the Idempotency-Key scope, and
    `access`, the check that must pass before a stored reply is replayed (`checked_in_view`: the
    body starts with that check, so a fresh claim skips it here; `together`: the body reads back
    none of its `appends.write`s, which go with the stored reply as one statement; `claim_last`,
    given the parsed body: this request may claim its key with that statement; see `_once`)."""

    def decorate(func: Callable) -> Callable:
        _check_placement(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with transaction():
                if idempotent is None:
                    return func(*args, **kwargs)
                return _once(idempotent.format(**kwargs), func, args, kwargs, access, checked_in_view, together,
                             claim_last)

        wrapper.transactional = True
        return headers("Idempotency-Key")(wrapper) if idempotent else wrapper

    return decorate(view) if view is not None else decorate
