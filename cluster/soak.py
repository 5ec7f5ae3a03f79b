"""The soak: mixed traffic through nginx at a fixed rate for N seconds, then the invariants, a table of
p50/p99 and errors per endpoint, and every process's memory at the start, after warm-up and at the end.

Open loop: a visit starts every 1/rate seconds whatever the earlier ones are doing (a pool of client
threads runs them), so a slow cluster shows as latency, not as a lower rate. A visit is one of:
browse (catalog, stock, availability), shop (cart, lines, read, email, checkout, half of them by
card: the shopper's app confirms the intent at localstripe and Stripe's webhook comes through nginx;
some carts abandoned, some card orders never paid), staff (queue, picking, ready, handover with the
shopper's code, which captures a card; some orders cancelled by the shopper instead, which voids it),
till (a sale or receipt event), messages (staff read the outbox). A short abandoned-cart campaign
(cluster/campaign.py) enrols guests whose carts go idle during the soak. Messages go out through the
leader's outbox sweep to the SMTP server, which counts what it receives.
"""

from __future__ import annotations

import collections
import random
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import requests

from cluster import campaign, cards
from cluster.checks import Check
from cluster.world import SKUS, SWEEP, Cluster
from tests.support.invariants import (
    assert_order_invariants,
    assert_stock_invariants,
    messages_sent_twice,
    payment_mismatches,
)

WARMUP = 60.0  # seconds after which the "warm" memory figure is taken (or a tenth of a shorter soak)
GROWTH_BOUND_KB = 20 * 1024  # no process may grow more than this (or 25 %, whichever is larger) after warm-up
CLIENTS = 24
CARD_SHARE, UNPAID_SHARE = 0.5, 0.05  # checkouts by card; of those, never paid (the unpaid sweep expires them)


class Recorder:
    """(latency ms, status) per endpoint; an error is a status other than the one the call expects."""

    def __init__(self) -> None:
        self.calls: dict[str, list[float]] = collections.defaultdict(list)
        self.errors: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.lock = threading.Lock()

    def call(self, session: requests.Session, label: str, method: str, url: str, expected: int, **kw):
        started = time.perf_counter()
        try:
            resp = session.request(method, url, timeout=30, **kw)
            status = resp.status_code
        except requests.RequestException as exc:
            resp, status = None, type(exc).__name__
        ms = (time.perf_counter() - started) * 1000
        with self.lock:
            self.calls[label].append(ms)
            if status != expected:
                self.errors[label][status] += 1
        return resp if status == expected else None

    def table(self, seconds: float) -> str:
        lines = [f"{'endpoint':42} {'calls':>7} {'per s':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  errors",
                 "-" * 100]
        for label in sorted(self.calls):
            ms = sorted(self.calls[label])
            q = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else [ms[0]] * 99
            errors = ", ".join(f"{status}: {n}" for status, n in self.errors[label].items()) or "0"
            lines.append(f"{label:42} {len(ms):7d} {len(ms) / seconds:6.2f} {q[49]:8.1f} {q[98]:8.1f} {ms[-1]:8.1f}"
                         f"  {errors}")
        return "\n".join(lines)


class Shoppers:
    """The visits, over the cluster's two stores, sharing the orders waiting for staff."""

    def __init__(self, c: Cluster, rec: Recorder) -> None:
        self.c, self.rec, self.api = c, rec, c.lb + "/api/v1"
        self.placed: collections.deque = collections.deque()
        self.local = threading.local()
        self.counts: collections.Counter = collections.Counter()

    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def visit(self) -> None:
        kind = random.choices(["browse", "shop", "staff", "till", "messages"], [45, 30, 15, 7, 3])[0]
        if kind == "staff" and not self.placed:
            kind = "browse"
        self.counts[kind] += 1
        try:
            getattr(self, kind)(self.session(), random.choice(list(self.c.seed.store_ids.values())))
        except Exception as exc:  # noqa: BLE001 (a visit that crashes is an error in the table, not lost in a future)
            with self.rec.lock:
                self.rec.errors[f"{kind} visit"][type(exc).__name__] += 1

    def browse(self, s, store_id: int) -> None:
        rec, api = self.rec, self.api
        rec.call(s, "GET /products", "GET", f"{api}/products?limit=20", 200)
        skus = ",".join(random.sample(SKUS, 5))
        rec.call(s, "GET /stores/{id}/stock", "GET", f"{api}/stores/{store_id}/stock?skus={skus}", 200)
        rec.call(s, "GET /availability", "GET", f"{api}/availability?sku={random.choice(SKUS)}", 200)

    def shop(self, s, store_id: int) -> None:
        rec, api = self.rec, self.api
        cart = rec.call(s, "POST /carts", "POST", f"{api}/carts", 201, json={"pickup_store_id": store_id})
        if cart is None:
            return
        cart_id = cart.json()["id"]
        for sku in random.sample(SKUS, 2):
            rec.call(s, "POST /carts/{id}/lines", "POST", f"{api}/carts/{cart_id}/lines", 200,
                     json={"sku": sku, "quantity": random.randint(1, 3)})
        rec.call(s, "GET /carts/{id}", "GET", f"{api}/carts/{cart_id}", 200)
        if random.random() < 0.15:
            return  # abandoned
        rec.call(s, "PATCH /carts/{id}", "PATCH", f"{api}/carts/{cart_id}", 200,
                 json={"email": f"soak-{uuid.uuid4().hex[:10]}@example.com"})
        card = random.random() < CARD_SHARE
        placed = rec.call(s, "POST /carts/{id}/checkout", "POST", f"{api}/carts/{cart_id}/checkout", 201,
                          json={"payment_method": "card" if card else "pay_at_store"},
                          headers={"Idempotency-Key": uuid.uuid4().hex})
        if placed is None:
            return
        body = placed.json()
        if card:
            if random.random() < UNPAID_SHARE:
                return  # the shopper never pays: the order waits PAYMENT_WINDOW_SECONDS, then expires
            event = cards.confirmed_event(self.c.stripe, body)  # the shopper's app, at localstripe
            if event is None or rec.call(s, "POST /webhooks/stripe", "POST", f"{api}/webhooks/stripe", 200,
                                         data=event[0], headers=event[1]) is None:
                return
        self.placed.append((body["order"]["id"], store_id, body["pickup_code"], body["order_token"]))

    def staff(self, s, _store_id: int) -> None:
        rec, api = self.rec, self.api
        try:
            order_id, store_id, code, token = self.placed.popleft()
        except IndexError:
            return
        if random.random() < 0.1:  # the shopper changes their mind: the hold is released
            rec.call(s, "POST /orders/{id}/cancel", "POST", f"{api}/orders/{order_id}/cancel", 200, json={},
                     headers={"X-Order-Token": token})
            return
        staff = {"Authorization": f"Bearer {self.c.seed.staff[store_id]}"}
        rec.call(s, "GET /stores/{id}/orders", "GET", f"{api}/stores/{store_id}/orders?status=placed&limit=20",
                 200, headers=staff)
        for step in ("picking", "ready"):
            rec.call(s, f"POST /orders/{{id}}/{step}", "POST", f"{api}/orders/{order_id}/{step}", 200, json={},
                     headers=staff)
        rec.call(s, "POST /orders/{id}/handover", "POST", f"{api}/orders/{order_id}/handover", 200,
                 json={"pickup_code": code}, headers=staff)

    def till(self, s, store_id: int) -> None:
        kind = random.choice(["sale", "receipt"])
        self.rec.call(s, "POST /stores/{id}/stock-events", "POST", f"{self.api}/stores/{store_id}/stock-events",
                      201, json={"event_id": f"till-{uuid.uuid4().hex}", "type": kind,
                                 "lines": [{"sku": random.choice(SKUS), "quantity": random.randint(1, 3)}]},
                      headers={"Authorization": f"Bearer {self.c.seed.staff[store_id]}"})

    def messages(self, s, store_id: int) -> None:
        self.rec.call(s, "GET /messages", "GET", f"{self.api}/messages?limit=20", 200,
                      headers={"Authorization": f"Bearer {self.c.seed.staff[store_id]}"})


def soak(c: Cluster, seconds: float, rate: float) -> Check:
    check = Check(f"soak {seconds:.0f} s at {rate:g} visits/s")
    guests = campaign.start(c, seconds)
    rec = Recorder()
    shoppers = Shoppers(c, rec)
    memory = {"start": c.memory()}
    warm_at = min(WARMUP, seconds / 10)
    late, started, connections, sampled = 0, time.monotonic(), [], 0.0
    admin = psycopg.connect(c.dsn, autocommit=True)
    with ThreadPoolExecutor(CLIENTS) as pool:
        pending: list = []
        n = 0
        while (elapsed := time.monotonic() - started) < seconds:
            if "warm" not in memory and elapsed >= warm_at:
                memory["warm"] = c.memory()
            if elapsed - sampled >= 5:
                sampled = elapsed
                connections.append(admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                                 "current_database()").fetchone()[0] - 1)  # not this one
            pending = [f for f in pending if not f.done()]
            if len(pending) >= CLIENTS:
                late += 1  # every client busy: this visit waits in the queue (counted, still made)
            pending.append(pool.submit(shoppers.visit))
            n += 1
            time.sleep(max(0.0, started + n / rate - time.monotonic()))
    traffic_seconds = time.monotonic() - started
    max_connections = admin.execute("SHOW max_connections").fetchone()[0]
    admin.close()
    drained = _drain(c)
    memory["end"] = c.memory()
    print(rec.table(traffic_seconds), flush=True)
    print(memory_table(memory), flush=True)
    with c.app.app_context():
        from shop.core.extensions import db

        for name, invariant in (("stock = ledger = holds", assert_stock_invariants),
                                ("holds and payments match orders", assert_order_invariants),
                                ("payments match Stripe's intents", lambda: _payments_settle(c))):
            try:
                invariant()
            except AssertionError as exc:
                check.failures.append(f"{name}: {exc}")
            finally:
                db.session.remove()
    paid = _card_orders(c)
    marketing = campaign.figures(c)
    if seconds >= 300:  # every guest went idle in the first 40 % and their first step was due at once
        check.expect(sum(marketing["enrolled"].values()) == guests and marketing["first_sent"] == guests,
                     f"{guests} guests: enrolments {marketing['enrolled']}, first emails {marketing['first_sent']}")
    received = drained["received"]
    twice = messages_sent_twice(received)
    check.expect(twice == {}, f"messages received more than once: {list(twice.items())[:5]}")
    check.expect(drained["due"] == 0, f"{drained['due']} messages still due after the drain")
    check.expect(drained["sent"] == len(received),
                 f"{drained['sent']} messages marked sent, {len(received)} received by the SMTP server")
    calls = sum(len(v) for v in rec.calls.values())
    errors = sum(sum(v.values()) for v in rec.errors.values())
    check.expect(errors == 0, f"{errors} calls answered other than expected")
    grown = grew_too_much(memory["warm"], memory["end"])
    check.expect(not grown, f"memory grew past the bound: {grown}")
    check.figures += [f"{n} visits ({dict(shoppers.counts)}), {calls} calls ({calls / traffic_seconds:.1f}/s), "
                      f"{errors} errors, {late} visits queued behind busy clients",
                      f"outbox: {drained['sent']} sent, {len(received)} received ({len(set(received))} distinct "
                      f"message ids); {drained['skipped']} skipped, {drained['held']} held for later, "
                      f"{drained['due']} due",
                      f"card orders (order status, payment status): {_told(paid)}",
                      f"campaign: {guests} guests; enrolments: {_told(marketing['enrolled'])}; "
                      f"steps: {_told(marketing['runs'])}; its messages: {_told(marketing['messages'])}",
                      f"database connections: at most {max(connections, default=0)} open "
                      f"(median {statistics.median(connections or [0]):.0f}; server max_connections {max_connections})",
                      "invariants held" if not check.failures else "invariants: see failures"]
    return check


def _drain(c: Cluster) -> dict:
    """Wait (up to three outbox intervals) until no message is due and the SMTP server holds as many
    mails as the outbox marks sent, read together (the sweeps still run: an unpaid order expiring
    now queues a message); the outbox's counts by status and the Message-IDs received then."""
    deadline = time.monotonic() + 3 * c.intervals()["deliver_outbox"] + 10
    query = ("SELECT count(*) FILTER (WHERE status IN ('queued', 'sending') AND due_at <= now()), "
             "count(*) FILTER (WHERE status IN ('sent', 'delivered')), count(*) FILTER (WHERE status = 'skipped'), "
             "count(*) FILTER (WHERE status = 'held' OR (status = 'queued' AND due_at > now())) FROM messages")
    with psycopg.connect(c.dsn, autocommit=True) as conn:
        while True:
            received = [str(mail["Message-ID"]) for mail in list(c.smtp.received)]
            due, sent, skipped, held = conn.execute(query).fetchone()
            if (due == 0 and sent == len(received)) or time.monotonic() > deadline:
                return {"due": due, "sent": sent, "skipped": skipped, "held": held, "received": received}
            time.sleep(0.5)


def _told(counts: dict[str, int]) -> str:
    """{"sent": 3, "held": 1} as "3 sent, 1 held" (most first); "none" when empty."""
    return ", ".join(f"{n} {what}" for what, n in sorted(counts.items(), key=lambda kv: -kv[1])) or "none"


def _payments_settle(c: Cluster) -> None:
    """Every order's payment against its intent at localstripe; asked again after two sweep intervals
    when out of step, since a sweep may be between Stripe's answer and recording it."""
    from shop.core.extensions import db

    found = payment_mismatches(c.stripe)
    if found:
        db.session.remove()
        time.sleep(2 * SWEEP)
        found = payment_mismatches(c.stripe)
    assert found == [], found[:10]


def _card_orders(c: Cluster) -> dict[str, int]:
    """Card orders by what became of their money: captured, authorised (waiting), voided, never paid."""
    with psycopg.connect(c.dsn, autocommit=True) as conn:
        rows = conn.execute("SELECT o.status, p.status, count(*) FROM orders o JOIN payments p ON p.order_id = o.id "
                            "GROUP BY 1, 2 ORDER BY 3 DESC").fetchall()
    return {f"{order} ({payment})": n for order, payment, n in rows}


def grew_too_much(warm: dict[str, int], end: dict[str, int]) -> dict[str, str]:
    out = {}
    for name, kb in end.items():
        before = warm.get(name)
        if before is not None and kb - before > max(GROWTH_BOUND_KB, before // 4):
            out[name] = f"{before // 1024} -> {kb // 1024} MB"
    return out


def memory_table(memory: dict[str, dict[str, int]]) -> str:
    names = sorted(set().union(*memory.values()))
    lines = [f"{'process':16} {'start MB':>9} {'warm MB':>9} {'end MB':>9} {'end-warm':>9}", "-" * 56]
    for name in names:
        figures = [memory[when].get(name) for when in ("start", "warm", "end")]
        cells = [f"{kb / 1024:9.1f}" if kb is not None else f"{'-':>9}" for kb in figures]
        growth = f"{round((figures[2] - figures[1]) / 1024, 1) + 0.0:+9.1f}" if None not in figures[1:] else f"{'-':>9}"
        lines.append(f"{name:16} {' '.join(cells)} {growth}")
    lines.append(f"bound: no process grows more than {GROWTH_BOUND_KB // 1024} MB or 25 % (the larger) "
                 "from its warm figure to the end")
    return "\n".join(lines)
