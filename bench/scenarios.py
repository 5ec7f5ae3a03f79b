"""What the bench drives: the baseline call and the Omnishop endpoints, each as a step function."""

from __future__ import annotations

from bench.load import timed


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

    return [
        ("reserve 1 line (POST .../reservations)", reserve),
        ("reserve + release (each request counted)", reserve_release),
        ("stock of 100 SKUs, anonymous", lookup_public),
        ("stock of 100 SKUs, staff figures", lookup_staff),
    ]
