"""What `make cluster` checks, each a function of the running Cluster returning a Check: did it hold,
and the figures it measured. Destructive checks (kills) come last in CHECKS' order."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

import psycopg
import requests

from cluster import cards
from cluster.world import LEASE, SKUS, Cluster
from shop.core.extensions import db
from tests.support.cluster_nodes import Checkouts, doubled, firings, guest_carts, orders_by_cart, wait_for_leader
from tests.support.invariants import payment_mismatch


@dataclass
class Check:
    name: str
    failures: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    calls: int = 0  # HTTP calls made, where a check counts them

    def expect(self, condition: bool, failure: str) -> bool:
        if not condition:
            self.failures.append(failure)
        return condition

    @property
    def passed(self) -> bool:
        return not self.failures


def _call(check: Check, session: requests.Session, method: str, url: str, expected: int, **kw) -> dict:
    resp = session.request(method, url, timeout=30, **kw)
    check.expect(resp.status_code == expected, f"{method} {url.split('/api/v1')[-1]}: {resp.status_code} "
                 f"(expected {expected}) {resp.text[:200]}")
    check.calls += 1
    return resp.json() if "json" in resp.headers.get("Content-Type", "") else {}


def pickup_story(c: Cluster, payment_method: str = "pay_at_store") -> Check:
    """A guest's cart started on node A, checked out on node B, picked on A, readied on B, handed over
    through nginx; the order's emails arrive through the leader's outbox sweep. By card, the intent is
    made on B, Stripe's webhook goes to A, and the handover through nginx captures it."""
    card = payment_method == "card"
    check = Check(f"pickup story across nodes ({'card' if card else 'pay at store'})")
    a, b = (node.url + "/api/v1" for node in c.nodes)
    lb = c.lb + "/api/v1"
    store_id = c.seed.store_ids["CLA"]
    staff = {"Authorization": f"Bearer {c.seed.staff[store_id]}"}
    email = f"story-{uuid.uuid4().hex[:8]}@example.com"
    s = requests.Session()
    started = time.monotonic()
    cart = _call(check, s, "POST", f"{a}/carts", 201, json={"pickup_store_id": store_id})
    _call(check, s, "POST", f"{a}/carts/{cart['id']}/lines", 200, json={"sku": SKUS[0], "quantity": 2})
    _call(check, s, "PATCH", f"{a}/carts/{cart['id']}", 200, json={"email": email})
    seen = _call(check, s, "GET", f"{b}/carts/{cart['id']}", 200)
    check.expect([line["quantity"] for line in seen.get("lines", [])] == [2], f"node B sees the cart as {seen}")
    placed = _call(check, s, "POST", f"{b}/carts/{cart['id']}/checkout", 201, json={"payment_method": payment_method},
                   headers={"Idempotency-Key": uuid.uuid4().hex})
    if not check.passed:
        return check
    order_id = placed["order"]["id"]
    if card:
        told = cards.authorise(c.stripe, s, c.nodes[0].url, placed)
        check.calls += 1
        check.expect(told == 200, f"Stripe's webhook to node A answered {told} (None: the card was declined)")
    mine = _call(check, s, "GET", f"{a}/orders/{order_id}", 200, headers={"X-Order-Token": placed["order_token"]})
    check.expect(mine.get("status") == "placed", f"node A reads the order as {mine.get('status')}")
    _call(check, s, "POST", f"{a}/orders/{order_id}/picking", 200, json={}, headers=staff)
    _call(check, s, "POST", f"{b}/orders/{order_id}/ready", 200, json={}, headers=staff)
    handed = _call(check, s, "POST", f"{lb}/orders/{order_id}/handover", 200,
                   json={"pickup_code": placed["pickup_code"]}, headers=staff)
    done = _call(check, s, "GET", f"{lb}/orders/{order_id}", 200, headers=staff)
    check.expect(done.get("status") == "picked_up", f"the order ends {done.get('status')}")
    story_seconds = time.monotonic() - started
    if card:
        with c.app.app_context():
            mismatch = payment_mismatch(c.stripe, order_id)
            db.session.remove()
        check.expect(mismatch is None, mismatch or "")
        check.expect(handed.get("captured_amount") == placed["order"]["total"],
                     f"captured {handed.get('captured_amount')} of {placed['order']['total']}")
        check.figures.append(f"captured {handed.get('captured_amount')} of {placed['order']['total']} at handover, "
                             "as the intent says")
    deadline = time.monotonic() + 4 * c.intervals()["deliver_outbox"] + 10
    while _pending_messages(c, order_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    statuses = _message_statuses(c, order_id)
    subjects = [str(mail["Subject"]) for mail in c.smtp.to(email)]
    check.expect(statuses.get("order_picked_up") == "sent" and len(subjects) == statuses_sent(statuses),
                 f"messages {statuses}, emails received {subjects}")
    check.figures[:0] = [f"{check.calls} calls in {story_seconds:.2f} s"]
    check.figures.append("outbox: " + ", ".join(f"{t} {s}" for t, s in sorted(statuses.items())))
    return check


def card_pickup_story(c: Cluster) -> Check:
    return pickup_story(c, "card")


def _message_statuses(c: Cluster, order_id: int) -> dict[str, str]:
    """template -> status of the order's messages (placed and ready are skipped once it is picked up)."""
    with psycopg.connect(c.dsn, autocommit=True) as conn:
        return dict(conn.execute("SELECT template, status FROM messages WHERE order_id = %s", (order_id,)).fetchall())


def _pending_messages(c: Cluster, order_id: int) -> bool:
    return any(status in ("queued", "held", "sending") for status in _message_statuses(c, order_id).values())


def statuses_sent(statuses: dict[str, str]) -> int:
    return sum(status in ("sent", "delivered") for status in statuses.values())


def shared_rate_limit(c: Cluster) -> Check:
    """Sign-in attempts from one address alternate between the nodes and are refused after the limit
    counted over both (Redis), not after the limit per worker."""
    check = Check("rate limit shared across nodes (Redis)")
    limit = int(c.app.config["TOKEN_RATE_LIMIT_PER_ADDRESS"].split("/")[0])
    first_429 = None
    for n in range(limit * 3):
        url = c.nodes[n % 2].url + "/api/v1/auth/tokens"
        resp = requests.post(url, json={"email": f"nobody-{n}@example.com", "password": "wrong-password-1"},
                             timeout=30)
        if resp.status_code == 429:
            first_429 = n + 1
            break
    check.expect(first_429 == limit + 1, f"first 429 at attempt {first_429}, expected {limit + 1}")
    workers = len(c.nodes) * len(c.nodes[0].pids()[1:])
    check.figures.append(f"limit {limit}/min over {workers} workers on 2 nodes: first 429 at attempt {first_429}")
    return check


def one_scheduler_fires(c: Cluster, watch: float = 25.0) -> Check:
    """Watch both candidates for a while: only the lease holder runs sweeps, never two in one interval."""
    check = Check("one scheduler fires each sweep")
    leader, _ = wait_for_leader(c.dsn, 60)
    time.sleep(watch)
    found = firings(c.schedulers, c.intervals())
    pids = {firing.pid for firing in found}
    check.expect(pids == {leader}, f"sweeps fired by {pids}, the leader is {leader}")
    check.expect(doubled(found) == [], f"intervals fired twice: {doubled(found)[:5]}")
    check.figures.append(f"{len(found)} sweep runs by pid {leader} over {watch:.0f}s, 0 by the follower")
    return check


def leader_killed(c: Cluster) -> Check:
    """SIGKILL the leader: the follower must hold the lease within two lease periods and fire."""
    check = Check("scheduler leader SIGKILLed, follower takes over")
    leader, _ = wait_for_leader(c.dsn, 60)
    victim = next(proc for proc in c.schedulers if proc.pid == leader)
    victim.kill()
    follower, seen_at = wait_for_leader(c.dsn, 6 * LEASE, other_than=leader)
    took = seen_at - victim.killed_at
    check.expect(took <= 2 * LEASE, f"takeover took {took:.1f} s > 2 x {LEASE} s")
    deadline = time.monotonic() + 3 * max(c.intervals().values())
    while not any(f.pid == follower and f.started > victim.killed_at for f in firings(c.schedulers, c.intervals())):
        if time.monotonic() > deadline:
            check.failures.append("the new leader fired nothing")
            break
        time.sleep(0.3)
    found = firings(c.schedulers, c.intervals())
    check.expect(doubled(found) == [], f"intervals fired twice: {doubled(found)[:5]}")
    check.figures.append(f"takeover in {took:.2f} s (lease {LEASE} s, bound {2 * LEASE} s); no interval fired twice")
    return check


def node_killed(c: Cluster, carts: int = 150, clients: int = 6) -> Check:
    """Checkouts through nginx while node A is SIGKILLed, every other one by card (the card's webhook
    posted through nginx right after the 201): every 201 names an order that exists, no cart has two
    orders, retries with the same Idempotency-Key (and of the same webhook) through nginx end in 201
    (200), every card order is placed and its payment matches its intent at Stripe."""
    check = Check("web node SIGKILLed mid-traffic, no order lost")
    store_id = c.seed.store_ids["CLB"]
    with c.app.app_context():
        cart_ids = guest_carts(store_id, SKUS[1], carts, tag="kill")
        db.session.commit()
    by_card = set(cart_ids[::2])
    checkouts, queue, lock = Checkouts(), list(cart_ids), threading.Lock()
    webhooks: dict[str, int | None] = {}

    def client() -> None:
        session = requests.Session()
        while True:
            with lock:
                if not queue:
                    return
                cart_id = queue.pop()
            card = cart_id in by_card
            placed = checkouts.place([c.lb], cart_id, session, payment_method="card" if card else "pay_at_store")
            if card and placed is not None:
                webhooks[cart_id] = cards.authorise(c.stripe, session, c.lb, checkouts.replies[cart_id])

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    while len(checkouts.answered) < carts // 3 and any(t.is_alive() for t in threads):
        time.sleep(0.02)
    c.nodes[0].kill()
    for thread in threads:
        thread.join(timeout=300)
    seconds = time.monotonic() - started
    orders = orders_by_cart(c.dsn, cart_ids)
    retried = sum(1 for tries in checkouts.tries.values() if tries > 1)
    check.expect(checkouts.failures == [], f"checkouts that failed: {checkouts.failures[:5]}")
    check.expect(len(checkouts.answered) == carts, f"{len(checkouts.answered)} of {carts} checkouts got 201")
    check.expect(all(len(ids) == 1 for ids in orders.values()), "a cart has two orders")
    kept = {cart: ids[0] for cart, ids in orders.items()}
    check.expect(kept == checkouts.answered, "a 201 names an order that is not the one kept (or none)")
    refused = {cart: status for cart, status in webhooks.items() if status != 200}
    check.expect(refused == {} and len(webhooks) == len(by_card),
                 f"{len(webhooks)} of {len(by_card)} card webhooks sent; answered other than 200: {refused}")
    with c.app.app_context():
        from shop.orders.models import Order

        card_orders = [kept[cart] for cart in by_card if cart in kept]
        waiting = [oid for oid in card_orders if db.session.get(Order, oid).status != "placed"]
        mismatched = [m for oid in card_orders if (m := payment_mismatch(c.stripe, oid)) is not None]
        db.session.remove()
    check.expect(waiting == [], f"card orders not placed after their webhook: {waiting[:5]}")
    check.expect(mismatched == [], f"payments out of step with Stripe: {mismatched[:5]}")
    check.figures.append(f"{carts} checkouts ({len(by_card)} by card) in {seconds:.1f} s, {retried} retried with "
                         f"their key, {sum(checkouts.tries.values())} calls; {len(kept)} orders, "
                         f"{carts - len(kept)} lost, {sum(len(ids) > 1 for ids in orders.values())} doubled; "
                         f"{len(card_orders) - len(waiting)} of {len(by_card)} card orders authorised by webhook, "
                         f"{len(card_orders) - len(mismatched)} matching their intents")
    return check


CHECKS = [pickup_story, card_pickup_story, shared_rate_limit, one_scheduler_fires]
DESTRUCTIVE = [leader_killed, node_killed]
