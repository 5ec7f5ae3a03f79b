"""What the bench drives: the baseline call and the Omnishop endpoints, each as a step function."""

from __future__ import annotations

from bench.load import burst, timed


def baseline(url: str):
    def step(session):
        ms, ok, _ = timed(session, "POST", url + "/hit", 201)
        return [(ms, ok)]
    return step


def omnishop(url: str, seed):
    api = url + "/api/v1"
    auth = {"Authorization": f"Bearer {seed.token}"}
    hold = {"lines": [{"sku": seed.skus[0], "quantity": 1}], "ttl_minutes": 60}
    reserve_url = f"{api}/stores/{seed.store_id}/reservations"
    stock_url = f"{api}/stores/{seed.store_id}/stock?skus=" + ",".join(seed.skus)

    def reserve(session):
        ms, ok, _ = timed(session, "POST", reserve_url, 201, json=hold, headers=auth)
        return [(ms, ok)]

    def reserve_release(session):
        ms1, ok1, resp = timed(session, "POST", reserve_url, 201, json=hold, headers=auth)
        if not ok1:
            return [(ms1, False)]
        rid = resp.json()["id"]
        ms2, ok2, _ = timed(session, "POST", f"{api}/reservations/{rid}/release", 200, headers=auth)
        return [(ms1, ok1), (ms2, ok2)]

    def lookup_public(session):
        ms, ok, _ = timed(session, "GET", stock_url, 200)
        return [(ms, ok)]

    def lookup_staff(session):
        ms, ok, _ = timed(session, "GET", stock_url, 200, headers=auth)
        return [(ms, ok)]

    def cart_of(session):
        """Each client thread works on its own guest cart at the bench store, with 5 lines."""
        if not hasattr(session, "cart_id"):
            cart = session.post(f"{api}/carts", json={"pickup_store_id": seed.store_id}, timeout=30).json()
            session.cart_id, session.adds = cart["id"], 0
            for sku in seed.skus[:5]:
                session.post(f"{api}/carts/{cart['id']}/lines", json={"sku": sku, "quantity": 1}, timeout=30)
        return session.cart_id

    def add_to_cart(session):
        cart_id = cart_of(session)
        session.adds += 1
        if session.adds > 900:  # 10 lines x 90 units: a new cart before any line meets the 99 cap
            del session.cart_id
            cart_id = cart_of(session)
            session.adds = 1
        sku = seed.skus[session.adds % 10]  # 10 SKUs, one unit at a time
        ms, ok, _ = timed(session, "POST", f"{api}/carts/{cart_id}/lines", 200,
                          json={"sku": sku, "quantity": 1})
        return [(ms, ok)]

    def read_cart(session):
        ms, ok, _ = timed(session, "GET", f"{api}/carts/{cart_of(session)}", 200)
        return [(ms, ok)]

    refused = {"lines": [{"sku": seed.refused_sku, "quantity": 51}], "ttl_minutes": 60}  # 50 on hand

    def refused_hold(session):
        ms, ok, _ = timed(session, "POST", reserve_url, 409, json=refused, headers=auth)
        return [(ms, ok)]

    backlog_url = f"{api}/stores/{seed.store_id}/stock?skus=" + ",".join(seed.backlog_skus)

    def lookup_backlog(session):
        ms, ok, _ = timed(session, "GET", backlog_url, 200)
        return [(ms, ok)]

    def availability(session):
        ms, ok, resp = timed(session, "GET", f"{api}/availability?sku={seed.skus[0]}", 200)
        return [(ms, ok and len(resp.json()) == 100)]

    return [
        ("add to cart (POST /carts/{id}/lines)", add_to_cart),
        ("read cart, 5-10 lines with availability", read_cart),
        ("reserve 1 line (POST .../reservations)", reserve),
        ("reserve + release (each request counted)", reserve_release),
        ("stock of 100 SKUs, anonymous", lookup_public),
        ("stock of 100 SKUs, staff figures", lookup_staff),
        ("refused hold (409, the full path)", refused_hold),
        ("stock of 100 SKUs, expired holds waiting", lookup_backlog),
        ("availability of 1 SKU at 100 stores", availability),
    ]


def race(url: str, seed, sku: str, buyers: int) -> list[tuple[float, int]]:
    """`buyers` one-unit holds of `sku` sent at once: (latency ms, status) of each."""
    reserve_url = f"{url}/api/v1/stores/{seed.store_id}/reservations"
    body = {"lines": [{"sku": sku, "quantity": 1}], "ttl_minutes": 60}
    auth = {"Authorization": f"Bearer {seed.token}"}
    return burst(buyers, lambda session: session.post(reserve_url, json=body, headers=auth, timeout=300).status_code)


def checkout(url: str, cart_ids: list[str], placed: list):
    """Pay-at-store checkout of prepared carts; remembers (order id, pickup code) for the handover."""
    api = url + "/api/v1"
    pool = iter(list(cart_ids))

    def step(session):
        cart_id = next(pool, None)
        if cart_id is None:
            return None
        ms, ok, resp = timed(session, "POST", f"{api}/carts/{cart_id}/checkout", 201,
                             json={"payment_method": "pay_at_store"}, headers={"Idempotency-Key": cart_id})
        if ok:
            body = resp.json()
            placed.append((body["order"]["id"], body["pickup_code"]))
        return [(ms, ok)]
    return step


def handover(url: str, seed, ready: list[tuple[int, str]]):
    api = url + "/api/v1"
    auth = {"Authorization": f"Bearer {seed.token}"}
    pool = iter(list(ready))

    def step(session):
        item = next(pool, None)
        if item is None:
            return None
        order_id, code = item
        ms, ok, _ = timed(session, "POST", f"{api}/orders/{order_id}/handover", 200,
                          json={"pickup_code": code}, headers=auth)
        return [(ms, ok)]
    return step
