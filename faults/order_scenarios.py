"""Fault scenarios of orders and their sweeps: two order sweeps at once over multi-line holds, Stripe
slow during a handover and during a sweep, a capture whose reply was lost and then the no-show sweep.

The sweeps run in this process on connections of their own straight to PostgreSQL, as `flask
scheduler run` would, while the app under gunicorn serves holds and handovers through the proxies.
Orders are set up through an in-process app on the same database, whose Stripe calls go through
the same Stripe proxy (so a slow Stripe is slow for the sweeps too).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from faults.scenarios import Result, scenario
from faults.world import Reply, World

TRIALS = int(os.environ.get("FAULTS_SWEEP_TRIALS", "20"))
ORDERS_PER_TRIAL, SWEEP_SKUS, HOLD_CLIENTS, HOLDS_EACH = 30, 30, 6, 5
STRIPE_DELAY = 3.0  # every Stripe answer waits this long in the slow scenarios
HOLD_LIMIT = 1.5  # a hold on the same SKU must be answered well before Stripe answers


class Shop:
    """The in-process app on the world's database, taking cards through the world's Stripe proxy."""

    def __init__(self, world: World) -> None:
        from shop.app import create_app
        from tests.support.orders import WEBHOOK_SECRET, stripe_client

        self.world = world
        self.app = create_app({
            "SQLALCHEMY_DATABASE_URI": world.direct_url.render_as_string(False), "LOG_LEVEL": "WARNING",
            "STRIPE_SECRET_KEY": "sk_test_faults", "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_API_BASE": f"http://127.0.0.1:{world.stripe_proxy.port}"})
        host, port = world.stripe_proxy.upstream
        self.sc = stripe_client(f"http://{host}:{port}", "sk_test_faults")  # the shopper's app: never slowed

    @contextlib.contextmanager
    def context(self):
        from shop.core.extensions import db

        with self.app.app_context():
            try:
                yield
            finally:
                db.session.remove()

    def store(self, code: str, skus: list[str], units: int) -> SimpleNamespace:
        """A store with these SKUs in stock and a clerk: what tests.support.orders calls a world."""
        from shop.core.extensions import db
        from tests.support import factories as f

        with self.context():
            store = f.store(code=code, hold_days=1)
            products = [f.product(sku=sku, price=900) for sku in skus]
            for product in products:
                f.stock(store, product, units)
            clerk = f.user("staff", [store])
            db.session.commit()
            return SimpleNamespace(id=store.id, clerk_id=clerk.id, staff=f.bearer(clerk), skus=skus)

    def ready_card_order(self, store: SimpleNamespace, sku: str) -> dict:
        from tests.support.orders import ready_card_order

        with self.context():
            return ready_card_order(self.app.test_client(), {"store": store, "staff": store.staff}, self.sc,
                                    lines=((sku, 1),))

    def dispose(self) -> None:
        from shop.core.extensions import db

        with self.app.app_context():
            db.engine.dispose()


@contextlib.contextmanager
def shop(world: World):
    made = Shop(world)
    try:
        yield made
    finally:
        made.dispose()


@contextlib.contextmanager
def clock_at(when: dt.datetime):
    """This process's clock (the sweeps and the in-process app) set to `when`; gunicorn's is untouched."""
    from shop.core.clock import clock

    clock.now = lambda: when
    try:
        yield
    finally:
        del clock.now


def _deadlocks(world: World) -> int:
    """PostgreSQL's own count of deadlocks in the world's database, read on the world's direct app."""
    from sqlalchemy import text

    from shop.core.extensions import db

    with world.app.app_context(), db.engine.connect() as conn:
        return conn.execute(text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")).scalar()


def _hold(world: World, store: SimpleNamespace, skus: list[str]) -> Reply:
    return world.call("POST", f"/api/v1/stores/{store.id}/reservations",
                      {"lines": [{"sku": sku, "quantity": 1} for sku in skus]}, headers=store.staff)


def _payment_matches_intent(made: Shop, order_id: int) -> str | None:
    """tests.support.invariants.payment_mismatch, in the shop's app context."""
    from tests.support.invariants import payment_mismatch

    with made.context():
        return payment_mismatch(made.sc, order_id)


def _sweep_trial(world: World, made: Shop, store: SimpleNamespace, trial: int) -> tuple[list, Counter, Counter]:
    """One trial: orders due, then the sweeps and the hold clients let go at one barrier."""
    from inventory.models import Product
    from shop.accounts.models import User
    from shop.core.extensions import db
    from shop.orders import sweeps as order_sweeps
    from shop.orders.models import Order
    from stores.models import Store
    from tests.support.sweeps import ready_orders

    with made.context(), clock_at(dt.datetime.now(dt.UTC) - dt.timedelta(days=7)):  # every deadline passed
        products = list(db.session.scalars(db.select(Product).where(Product.sku.in_(store.skus))))
        ids = ready_orders(db.session.get(Store, store.id), db.session.get(User, store.clerk_id), products,
                           ORDERS_PER_TRIAL, lines=3, seed=trial)
    jobs = (order_sweeps.expire_no_shows, order_sweeps.expire_no_shows, order_sweeps.expire_unpaid)
    barrier = threading.Barrier(len(jobs) + HOLD_CLIENTS)

    def sweep(job):
        with made.context():
            barrier.wait()
            return job()

    def client(seed):
        rng = random.Random(seed)
        barrier.wait()
        return [_hold(world, store, rng.sample(store.skus, 4)).status for _ in range(HOLDS_EACH)]

    crashed, holds = [], Counter()
    with ThreadPoolExecutor(max_workers=len(jobs) + HOLD_CLIENTS) as pool:
        sweeps = [pool.submit(sweep, job) for job in jobs]
        clients = [pool.submit(client, trial * 100 + n) for n in range(HOLD_CLIENTS)]
        for future in sweeps:
            try:
                future.result()
            except Exception as exc:  # noqa: BLE001 - a sweep that crashed is what we look for
                crashed.append(f"trial {trial}: {type(exc).__name__}: {exc}"[:200])
        for future in clients:
            holds.update(future.result())
    with made.context():
        return crashed, Counter(db.session.scalars(db.select(Order.status).where(Order.id.in_(ids)))), holds


@scenario("sweeps-at-once")
def sweeps_at_once(world: World) -> Result:
    """Two no-show sweeps and the unpaid sweep at the same moment over orders of three lines each,
    while clients place four-line holds on the same SKUs through gunicorn, TRIALS times: no
    deadlock (PostgreSQL's own count), every order expired once, every hold a 201 or a 409."""
    result = Result("sweeps-at-once")
    deadlocks_before = _deadlocks(world)
    crashed, expired, holds = [], Counter(), Counter()
    with shop(world) as made:
        store = made.store("SWEEPS", [f"SWP-{i}" for i in range(SWEEP_SKUS)], 1_000_000)
        for trial in range(TRIALS):
            failed, statuses, answers = _sweep_trial(world, made, store, trial)
            crashed += failed
            expired.update(statuses)
            holds.update(answers)
    deadlocks = _deadlocks(world) - deadlocks_before
    result.check(not crashed, f"{len(crashed)} sweeps crashed (first: {crashed[:1]})")
    result.check(deadlocks == 0, f"PostgreSQL detected {deadlocks} deadlocks")
    result.check(set(expired) == {"expired"}, f"orders after the sweeps: {dict(expired)}")
    result.check(set(holds) <= {201, 409}, f"holds answered {dict(holds)}")
    result.figures += [f"{TRIALS} trials x {ORDERS_PER_TRIAL} orders of 3 lines, 3 sweeps + {HOLD_CLIENTS} hold "
                       f"clients at once", f"deadlocks {deadlocks}", f"orders {dict(expired)}", f"holds {dict(holds)}"]
    return result


def _while_stripe_is_slow(world: World, slow_call, check) -> tuple[object, object, bool]:
    """Run `slow_call` (which waits on Stripe) in a thread; once it has had time to reach Stripe, run
    `check`: (slow_call's result, check's reply, whether slow_call was still waiting then)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(slow_call)
        time.sleep(STRIPE_DELAY / 3)
        reply = check()
        waiting = not pending.done()
        return pending.result(), reply, waiting


@scenario("stripe-slow-handover-and-sweep")
def stripe_slow_handover_and_sweep(world: World) -> Result:
    """Stripe answers every call STRIPE_DELAY s late while the counter hands over a card order and
    while the unpaid sweep voids one: a hold of the same SKU, and a cancel of the order being
    handed over, are answered at once; the handover and the sweep finish; payments match intents."""
    from shop.core.extensions import db
    from shop.orders import sweeps as order_sweeps
    from shop.orders.models import Order
    from tests.support.orders import card_order

    result = Result("stripe-slow-handover-and-sweep")
    with shop(world) as made:
        store = made.store("SLOW", ["SLOW-MUG"], 1_000)
        ready = made.ready_card_order(store, "SLOW-MUG")
        with made.context():
            unpaid = card_order(made.app.test_client(), {"store": store}, lines=(("SLOW-MUG", 1),))
        oid, unpaid_id = ready["order"]["id"], unpaid["order"]["id"]
        world.stripe_proxy.set("slow", STRIPE_DELAY)
        try:
            handed, (hold, cancel), waiting = _while_stripe_is_slow(
                world, lambda: world.call("POST", f"/api/v1/orders/{oid}/handover",
                                          {"pickup_code": ready["pickup_code"]}, headers=store.staff),
                lambda: (_hold(world, store, ["SLOW-MUG"]),
                         world.call("POST", f"/api/v1/orders/{oid}/cancel", {}, headers=store.staff)))
            with made.context():
                late = db.session.get(Order, unpaid_id).payment_expires_at + dt.timedelta(minutes=1)

            def sweep():
                with made.context(), clock_at(late):
                    return order_sweeps.expire_unpaid()

            swept, sweep_hold, sweep_waiting = _while_stripe_is_slow(
                world, sweep, lambda: _hold(world, store, ["SLOW-MUG"]))
        finally:
            world.stripe_proxy.set("pass")
        result.check(waiting and hold.status == 201 and hold.seconds <= HOLD_LIMIT,
                     f"a hold during the capture: {hold.status} in {hold.seconds:.2f} s (capture waiting: {waiting})")
        result.check(cancel.status == 409 and cancel.code == "capture_in_progress" and cancel.seconds <= HOLD_LIMIT,
                     f"a cancel during the capture answered {cancel.status} {cancel.code} in {cancel.seconds:.2f} s")
        result.check(handed.status == 200 and (handed.body or {}).get("status") == "picked_up",
                     f"the handover answered {handed.status} {handed.text[:120]!r}")
        result.check(sweep_waiting and sweep_hold.status == 201 and sweep_hold.seconds <= HOLD_LIMIT,
                     f"a hold during the sweep's void: {sweep_hold.status} in {sweep_hold.seconds:.2f} s "
                     f"(sweep waiting: {sweep_waiting})")
        result.check(isinstance(swept, int) and swept >= 1, f"the unpaid sweep expired {swept}")
        for order_id in (oid, unpaid_id):
            mismatch = _payment_matches_intent(made, order_id)
            result.check(mismatch is None, mismatch or "")
    result.figures += [f"Stripe +{STRIPE_DELAY:g}s", f"handover {handed.status} in {handed.seconds:.2f}s",
                       f"hold during capture {hold.status} in {hold.seconds:.2f}s",
                       f"cancel during capture {cancel.status} {cancel.code} in {cancel.seconds:.2f}s",
                       f"unpaid sweep {swept}", f"hold during void {sweep_hold.status} in {sweep_hold.seconds:.2f}s"]
    return result


@scenario("lost-capture-then-no-show")
def lost_capture_then_no_show(world: World) -> Result:
    """The counter's handover marked the capture and Stripe captured, but the reply never came back
    (the worker was killed); hours after the pickup deadline the scheduler runs every sweep once:
    reconciliation hands the order over (stock taken out) before the no-show sweep could expire it."""
    from inventory.models import Stock
    from shop.accounts.actors import Actor
    from shop.core.extensions import db
    from shop.core.transactions import transaction
    from shop.orders import pickup
    from shop.orders import queries as orders
    from shop.orders.models import Order

    result = Result("lost-capture-then-no-show")
    with shop(world) as made:
        store = made.store("LOST", ["LOST-MUG"], 10)
        ready = made.ready_card_order(store, "LOST-MUG")
        oid = ready["order"]["id"]
        with made.context():
            order = orders.get_order(oid)
            staff = Actor("staff", None, "store", store.id)
            with transaction():  # the handover's first transaction committed; then the worker died
                pickup.hand_over(orders.get_order(oid, lock=True), ready["pickup_code"], staff)
            made.sc.v1.payment_intents.capture(order.payment.intent_id)  # Stripe captured; no reply came back
            late = db.session.get(Order, oid).pickup_deadline + dt.timedelta(hours=1)
        with made.context(), clock_at(late):
            run = made.app.test_cli_runner().invoke(args=["scheduler", "run", "--once"])
        with made.context():
            order = db.session.get(Order, oid)
            product_id = order.lines[0].product_id
            mug = db.session.get(Stock, (store.id, product_id))
            status, captured, on_hand, reserved = order.status, order.captured_amount, mug.on_hand, mug.reserved
        result.check(run.exit_code == 0, f"scheduler run --once exited {run.exit_code}: {run.output[-300:]!r}")
        result.check(status == "picked_up", f"the order is {status}, not handed over")
        result.check((on_hand, reserved) == (9, 0), f"stock on hand {on_hand}, reserved {reserved} (wanted 9, 0)")
        mismatch = _payment_matches_intent(made, oid)
        result.check(mismatch is None, mismatch or "")
    result.figures += [f"order {status}, captured {captured}", f"stock {on_hand} on hand / {reserved} reserved",
                       "sweeps: " + " ".join(line.strip() for line in run.output.splitlines()[-8:])[:200]]
    return result

