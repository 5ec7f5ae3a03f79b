"""Property test: random receipts, sales, counts, holds, releases, expiries and handovers keep the
stock invariants after every step, and a hold succeeds exactly when every line fits."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from inventory import reservations, stock, stock_events
from inventory.models import Reservation
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.app import wipe
from tests.support.invariants import assert_stock_invariants

SKUS = ["A", "B", "C"]
quantity = st.integers(min_value=1, max_value=6)


class StockMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        self.now = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
        clock.now = lambda: self.now
        self.store = f.store()
        self.products = {sku: f.product(sku=sku) for sku in SKUS}
        for p in self.products.values():
            f.stock(self.store, p, 3, safety_stock=1)
        db.session.commit()
        self.events = 0

    def _free(self) -> dict[str, int]:
        rows = stock.store_stock(self.store.id, SKUS, self.now)
        return {r["sku"]: r["available"] for r in rows}

    def _event(self, kind, sku, qty):
        self.events += 1
        stock_events.record_event(self.store.id, f"e{self.events}", kind, {self.products[sku]: qty})
        db.session.commit()

    @rule(sku=st.sampled_from(SKUS), qty=quantity)
    def receipt(self, sku, qty):
        self._event("receipt", sku, qty)

    @rule(sku=st.sampled_from(SKUS), qty=quantity)
    def till_sale(self, sku, qty):
        self._event("sale", sku, qty)

    @rule(sku=st.sampled_from(SKUS), qty=st.integers(0, 10))
    def count(self, sku, qty):
        self._event("count", sku, qty)

    @rule(lines=st.dictionaries(st.sampled_from(SKUS), quantity, min_size=1, max_size=3),
          ttl=st.integers(1, 30))
    def reserve(self, lines, ttl):
        free = self._free()
        fits = all(free[sku] >= q for sku, q in lines.items())
        try:
            reservations.reserve(self.store.id, {self.products[s]: q for s, q in lines.items()},
                                 "prop", dt.timedelta(minutes=ttl))
            db.session.commit()
            assert fits, f"reserved {lines} with only {free} free"
        except DomainError as exc:
            db.session.rollback()
            assert exc.code == "insufficient_stock" and not fits

    def _some_active(self, index):
        active = db.session.scalars(
            db.select(Reservation).where(Reservation.status == "active").order_by(Reservation.id)
        ).all()
        return active[index % len(active)] if active else None

    @rule(index=st.integers(0, 50))
    def release(self, index):
        r = self._some_active(index)
        if r is not None:
            reservations.release(r)
            db.session.commit()

    @rule(index=st.integers(0, 50), fraction=st.floats(0, 1))
    def hand_over(self, index, fraction):
        r = self._some_active(index)
        if r is None:
            return
        taken = {line.product_id: int(line.quantity * fraction) for line in r.lines}
        try:
            reservations.consume(r, taken)
            db.session.commit()
        except DomainError:
            db.session.rollback()  # it had expired: refused, nothing changed

    @rule(minutes=st.integers(1, 40))
    def time_passes(self, minutes):
        self.now += dt.timedelta(minutes=minutes)

    @rule()
    def sweep(self):
        reservations.release_expired()
        db.session.commit()

    @invariant()
    def ledger_and_counters_agree(self):
        if hasattr(self, "store"):
            assert_stock_invariants()
            assert all(v >= 0 for v in self._free().values())

    def teardown(self):
        db.session.rollback()
        del clock.now
        wipe()


def test_stock_invariants_hold_after_every_step(app):
    run_state_machine_as_test(
        StockMachine,
        settings=settings(max_examples=25, stateful_step_count=25, deadline=None,
                          suppress_health_check=list(HealthCheck)),
    )
