"""The ledger's one statement, a hold's one-statement claim and a handover's lock-and-claim
(PostgreSQL's data-modifying CTEs; the handover by the loaded hold or by its id) write what the
general path writes: the same random sequences of stock changes (several rows at once, a row
twice, changes the CHECKs refuse), holds, releases, handovers (of lapsed holds too) and claims of
holds already ended, run once as the app runs them and once on the general path, leave identical
stock rows, ledger entries (in id order), holds and lines, and get the same answers."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import re
from collections import Counter

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from inventory import expiring, ledger, reservations, stock
from inventory.models import LEDGER_REASONS, LedgerEntry, Reservation, ReservationLine, Stock
from shop.core import plans
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.statement_count import statements

pytestmark = pytest.mark.postgres  # on SQLite both runs would take the general path

SKUS = ["A", "B", "C", "D"]
START = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)
PROGRAMS, STEPS = 40, 20
WEIGHTS = {"change": 5, "hold": 3, "release": 1, "hand_over": 2, "claim_ended": 1, "time": 1}


def program(rng: random.Random) -> list[dict]:
    """A random sequence of stock writes (seeded: a failure names its seed)."""
    steps = []
    for kind in rng.choices(list(WEIGHTS), list(WEIGHTS.values()), k=STEPS):
        op = {"op": kind, "pick": rng.randrange(50)}
        if kind == "change":
            skus = rng.choices(SKUS, k=rng.randint(1, 4))  # a row twice, at times
            op |= {"changes": [(sku, rng.randint(-3, 4), rng.randint(-2, 3)) for sku in skus],
                   "reason": rng.choice(LEDGER_REASONS), "source": rng.choice(["", "till:1"]),
                   "actor": rng.choice([None, 7])}
        elif kind == "hold":
            op |= {"lines": {sku: rng.randint(1, 3) for sku in rng.sample(SKUS, rng.randint(1, 3))},
                   "ttl": rng.randint(1, 20)}
        elif kind == "hand_over":
            op["fraction"] = rng.choice([0, 0.5, 1])
        elif kind == "time":
            op["minutes"] = rng.randint(1, 30)
        steps.append(op)
    return steps


class Run:
    """One pass of a program on a store of its own, with the clock in its hands."""

    def __init__(self, products: dict):
        self.products = products
        self.now = START
        clock.now = lambda: self.now
        store = f.store()
        for n, sku in enumerate(SKUS):
            f.stock(store, products[sku], 4 + 2 * n)
        db.session.commit()
        self.store = store.id

    def apply(self, op: dict):
        """What the caller was told: a value, a DomainError's code, or the database's refusal."""
        try:
            answer = getattr(self, "_" + op["op"])(op)
            db.session.commit()
            return answer
        except DomainError as err:
            db.session.rollback()
            return err.code, err.extra
        except IntegrityError as err:
            db.session.rollback()
            return "refused", err.orig.diag.constraint_name

    def _holds(self, status: str) -> list[Reservation]:
        return db.session.scalars(select(Reservation).where(
            Reservation.store_id == self.store, Reservation.status == status).order_by(Reservation.id)).all()

    def _pick(self, op, status="active") -> Reservation | None:
        found = self._holds(status)
        return found[op["pick"] % len(found)] if found else None

    def _change(self, op):
        rows = stock.lock_rows(self.store, [self.products[sku].id for sku, _, _ in op["changes"]])
        ledger.apply_many([(rows[self.products[sku].id], dh, dr) for sku, dh, dr in op["changes"]],
                          reason=op["reason"], source=op["source"], actor_id=op["actor"])
        return sorted((sku, rows[self.products[sku].id].on_hand, rows[self.products[sku].id].reserved)
                      for sku, _, _ in op["changes"])

    def _hold(self, op):
        held = reservations.reserve(self.store, {self.products[s]: q for s, q in op["lines"].items()}, "run",
                                    dt.timedelta(minutes=op["ttl"]))
        return sorted((line.product.sku, line.quantity) for line in held.lines)

    def _release(self, op):
        r = self._pick(op)
        return r and reservations.release(r).status

    def _hand_over(self, op):
        """Half by the loaded hold (`consume`), half by its id (`consume_hold`), mostly with nothing loaded."""
        r = self._pick(op)
        taken = r and {line.product_id: int(line.quantity * op["fraction"]) for line in r.lines}
        if r is None or op["pick"] % 2:
            return r and reservations.consume(r, taken).status
        hold_id = r.id
        if op["pick"] % 6:
            db.session.expunge(r)  # and its lines: read by the claim's statement, or loaded again
        reservations.consume_hold(hold_id, taken)
        return db.session.get(Reservation, hold_id).status

    def _claim_ended(self, op):
        r = self._pick(op, "consumed") or self._pick(op, "released")
        return r and (expiring.claim(r, "consumed"), r.status)

    def _time(self, op):
        self.now += dt.timedelta(minutes=op["minutes"])


_REF = re.compile(r"reservation:(\d+)")


def rows(run: Run) -> dict[str, list]:
    """Every column of the run's rows, ids replaced by what they stand for (the runs' ids differ);
    ledger entries in id order, so the order they were written in is compared too."""
    holds = db.session.scalars(select(Reservation.id).where(Reservation.store_id == run.store)
                               .order_by(Reservation.id)).all()
    rank = {rid: n for n, rid in enumerate(holds)}
    sku = {p.id: p.sku for p in run.products.values()}

    def value(table: str, column: str, v):
        if column == "id":
            return rank[v] if table == "reservations" else None
        if column == "store_id":
            return 0
        if column == "product_id":
            return sku[v]
        if column == "reservation_id":
            return rank[v]
        return _REF.sub(lambda m: f"reservation:#{rank[int(m[1])]}", v) if isinstance(v, str) else v

    out = {}
    for model, owned, order in ((Stock, Stock.store_id == run.store, Stock.product_id),
                                (LedgerEntry, LedgerEntry.store_id == run.store, LedgerEntry.id),
                                (Reservation, Reservation.store_id == run.store, Reservation.id),
                                (ReservationLine, ReservationLine.store_id == run.store, ReservationLine.id)):
        table = model.__table__
        found = db.session.execute(select(table).where(owned).order_by(order)).mappings().all()
        out[table.name] = [tuple((c.name, value(table.name, c.name, row[c.name])) for c in table.columns)
                           for row in found]
    return out


@contextlib.contextmanager
def general_path(enabled: bool):
    saved = set(plans.ONE_STATEMENT_DIALECTS)
    if enabled:
        plans.ONE_STATEMENT_DIALECTS.clear()
    try:
        yield
    finally:
        plans.ONE_STATEMENT_DIALECTS.update(saved)


def outcomes_and_rows(steps, products, general: bool):
    with general_path(general):
        run = Run(products)
        try:
            return [run.apply(op) for op in steps], rows(run)
        finally:
            del clock.now


def test_one_statement_and_general_path_write_the_same_rows(app):
    products = {sku: f.product(sku=sku) for sku in SKUS}
    db.session.commit()
    with statements() as sent:
        fast = [outcomes_and_rows(program(random.Random(seed)), products, False) for seed in range(PROGRAMS)]
    for seed in range(PROGRAMS):
        steps = program(random.Random(seed))
        answers, written = fast[seed]
        other_answers, other_written = outcomes_and_rows(steps, products, True)
        for n, (answer, other) in enumerate(zip(answers, other_answers, strict=True)):
            assert answer == other, f"seed {seed}, step {n}: {steps[:n + 1]}"
        for table in written:
            assert written[table] == other_written[table], f"seed {seed}: {table} differ after {steps}"
    # Both one-statement forms ran, and the CHECKs refused some changes on both paths.
    seen = Counter(ledger=sum("WITH change" in sql for sql in sent), claim=sum("WITH claimed" in sql for sql in sent),
                   lock_and_claim=sum(sql.startswith("WITH locked") for sql in sent))
    assert seen["ledger"] > 100 and seen["claim"] > 30 and seen["lock_and_claim"] > 20, seen
    assert sum(a[0] == "refused" for answers, _ in fast for a in answers if isinstance(a, tuple)) > 5
