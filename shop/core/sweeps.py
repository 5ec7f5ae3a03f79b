"""The sweep runner: one item per transaction, a deadlock retried, work after the commit, each sweep alone.

A sweep is a `claim` (lock and return the next item after a cursor, or None when nothing is due)
and a `handle` (act on it). The runner commits after every item, so a transaction holds one
item's locks and never a batch's (a batch locked order by order, stock row by stock row, is not
in one global order, and two sweeps or a sweep and a hold deadlocked). `handle` may return a
follow-up to run after the commit, when no lock is held: a provider call, then the short write
recording its outcome (which may return a follow-up of its own; anything not callable ends it).
A deadlock or serialization failure (SQLSTATE 40P01, 40001) is rolled back and retried a few
times; an item that fails otherwise is logged and skipped until the next run; a sweep that fails
is logged and the next one still runs. The runner is the commit boundary of scheduled work, as a view is of a request.
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

log = logging.getLogger(__name__)

RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure
RETRIES = 3
BUDGET_SECONDS = 50.0  # a run stops taking new items after this; the next run goes on

FollowUp = Callable[[], Any]
_DRAINED = object()  # what a step returns when nothing was due


def retryable(exc: BaseException) -> bool:
    """A deadlock or a serialization failure: nothing was wrong with the work, only its timing."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) in RETRYABLE_SQLSTATES


def in_transaction(work: Callable[[], Any], retries: int = RETRIES) -> Any:
    """Run `work` and commit; roll back and run it again (a bounded number of times) on a deadlock."""
    attempt = 0
    while True:
        try:
            result = work()
            db.session.commit()
            return result
        except DBAPIError as exc:
            db.session.rollback()
            if attempt >= retries or not retryable(exc):
                raise
            attempt += 1
            log.info("retrying after %s (attempt %d)", type(exc.orig).__name__, attempt)
            time.sleep(random.uniform(0, 0.05 * attempt))  # noqa: S311 - jitter, not a secret
        except BaseException:
            db.session.rollback()
            raise


def after_commit(follow_up: FollowUp | None) -> None:
    """Run what must wait for the commit (a provider call, then recording its outcome), each step
    in its own transaction. A failure is logged, never raised: the caller's work is committed, and
    what was left undone is marked for a retry sweep."""
    try:
        while callable(follow_up):
            follow_up = in_transaction(follow_up)
    except Exception:
        log.exception("work after the commit failed; a retry sweep will take it up")


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
            return handle(found[1])

        try:
            follow_up = in_transaction(step)
        except Exception:
            if not claimed:
                raise  # the claim itself fails: this sweep cannot go on (run_all logs it)
            log.exception("sweep %s: item %s failed; it is left for the next run", name, claimed[0])
            report.failed += 1
            cursor = claimed[0]
            continue
        if follow_up is _DRAINED:
            break
        cursor = claimed[0]
        report.done += 1
        after_commit(follow_up)
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


def run_all(jobs: list[tuple[str, Callable[[], int]]]) -> list[tuple[str, int | None]]:
    """Run each sweep once, each on its own: one that fails is logged (None), the others still run."""
    results: list[tuple[str, int | None]] = []
    for name, job in jobs:
        try:
            results.append((name, job()))
        except Exception:
            db.session.rollback()
            log.exception("sweep %s failed; the other sweeps still run", name)
            results.append((name, None))
    return results
