"""The sweep runner: one item per transaction, a deadlock retried, work after the commit, a time budget.

A sweep is a `claim` (lock and return the next item after a cursor, or None when nothing is due)
and a `handle` (act on it). Each item is its own `shop.core.transactions.transaction()`, so a
transaction holds one item's locks and never a batch's (a batch locked order by order, stock row
by stock row, is not in one global order, and two sweeps or a sweep and a hold deadlocked).
`handle` may return a follow-up, handed to `transactions.after_commit`: it runs after the item's
commit, with no lock held (a provider call, then the short write recording its outcome, which may
return a follow-up of its own; anything not callable ends it). A deadlock or serialization
failure (SQLSTATE 40P01, 40001) is rolled back and retried a few times; an item that fails
otherwise is logged and skipped until the next run. A run stops taking items at its time budget;
the next run goes on. The scheduler (shop.core.scheduler) runs each sweep on its own: one that
fails is logged and the others still run.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from shop.core.extensions import db
from shop.core.transactions import after_commit, transaction

log = logging.getLogger(__name__)

RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure
RETRIES = 3
BUDGET_SECONDS = 50.0  # a run stops taking new items after this; the next run goes on

FollowUp = Callable[[], Any]  # run after the commit (transactions.after_commit)
_DRAINED = object()  # what a step returns when nothing was due


def retryable(exc: BaseException) -> bool:
    """A deadlock or a serialization failure: nothing was wrong with the work, only its timing."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) in RETRYABLE_SQLSTATES


def in_transaction(work: Callable[[], Any], retries: int = RETRIES) -> Any:
    """Run `work` in a transaction of its own; run it again (a bounded number of times) when the
    database killed it as a deadlock victim or for a serialization failure."""
    attempt = 0
    while True:
        try:
            with transaction():
                return work()
        except DBAPIError as exc:
            if attempt >= retries or not retryable(exc):
                raise
            attempt += 1
            log.info("retrying after %s (attempt %d)", type(exc.orig).__name__, attempt)
            time.sleep(random.uniform(0, 0.05 * attempt))  # noqa: S311 - jitter, not a secret


def claim_next(model, *where):
    """A claim for `drain`: the next row of `model` matching `where` after the cursor (by id),
    locked FOR UPDATE SKIP LOCKED, so a row another transaction holds is left to it."""
    def claim(after):
        stmt = select(model).where(*where)
        if after is not None:
            stmt = stmt.where(model.id > after)
        row = db.session.scalar(stmt.order_by(model.id).limit(1).with_for_update(of=model, skip_locked=True))
        return None if row is None else (row.id, row)
    return claim


@dataclass
class Report:
    done: int = 0
    failed: int = 0
    out_of_time: bool = False


def drain(name: str, claim: Callable[[Any], tuple[Any, Any] | None], handle: Callable[[Any], FollowUp | None],
          *, budget: float = BUDGET_SECONDS, limit: int | None = None) -> Report:
    """Claim and handle items one per transaction until none is due, `limit` or the time budget.

    `claim(cursor)` returns (key, item) for the next due item with a key after `cursor` (None at
    first), locked with FOR UPDATE SKIP LOCKED so another run skips it; or None when drained.
    """
    deadline = time.monotonic() + budget
    report, cursor = Report(), None
    while limit is None or report.done + report.failed < limit:
        if time.monotonic() >= deadline:
            report.out_of_time = True
            log.warning("sweep %s stopped at its time budget after %d items", name, report.done)
            break
        claimed: list = []

        def step(after=cursor, claimed=claimed):
            claimed.clear()
            found = claim(after)
            if found is None:
                return _DRAINED
            claimed.append(found[0])
            after_commit(handle(found[1]))
            return None

        try:
            outcome = in_transaction(step)
        except Exception:
            if not claimed:
                raise  # the claim itself fails: this sweep cannot go on (the scheduler logs it)
            log.exception("sweep %s: item %s failed; it is left for the next run", name, claimed[0])
            report.failed += 1
            cursor = claimed[0]
            continue
        if outcome is _DRAINED:
            break
        cursor = claimed[0]
        report.done += 1
    return report


def repeat(name: str, batch: Callable[[], int], *, budget: float = BUDGET_SECONDS) -> int:
    """A sweep that works in batches (each call handles up to a batch and says how many): call it,
    one transaction per batch, until a batch finds nothing or the time budget is spent."""
    deadline, total = time.monotonic() + budget, 0
    while time.monotonic() < deadline:
        done = in_transaction(batch)
        total += done
        if not done:
            return total
    log.warning("sweep %s stopped at its time budget after %d items", name, total)
    return total
