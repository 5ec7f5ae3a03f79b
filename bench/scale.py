"""The scale paths timed in-process on the bench catalog (200,000 SKUs, 1,000,000 stock rows,
100,000 expired holds): a refused hold, the 100-SKU lookup over the backlog, one SKU at 100 stores.

Each case is timed twice: the service call alone (rolled back after each call), and the whole
request through Flask's test client (auth, JSON, the transaction). No HTTP server and no client
threads, so what is left is what the code and PostgreSQL cost; figures are for reading, never
pass/fail (the plans are held by tests/integration/test_plans_at_scale.py).
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass

NAME = "scale paths, in-process"
ROUNDS = int(os.environ.get("BENCH_SCALE_ROUNDS", "200"))
WARMUP = 20


@dataclass
class Timing:
    name: str
    service_ms: list[float]
    request_ms: list[float]

    @staticmethod
    def _pct(ms: list[float], q: int) -> float:
        return statistics.quantiles(ms, n=100, method="inclusive")[q - 1]

    def line(self) -> str:
        s, r = self.service_ms, self.request_ms
        return (f"{self.name:44} {len(r):7d} {self._pct(s, 50):9.2f} {self._pct(s, 99):9.2f} "
                f"{self._pct(r, 50):9.2f} {self._pct(r, 99):9.2f}")


def _times(call, rounds: int) -> list[float]:
    for _ in range(WARMUP):
        call()
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        call()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def run(url: str, seed, rounds: int = ROUNDS) -> list[Timing]:
    from inventory import catalog, reservations, stock
    from shop.app import create_app
    from shop.core.clock import clock
    from shop.core.errors import DomainError
    from shop.core.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING"})
    client = app.test_client()
    auth = {"Authorization": f"Bearer {seed.token}"}
    api = "/api/v1"

    def refused_service(sku: str):
        def call():
            try:
                reservations.reserve_skus(seed.store_id, {sku: 51}, "bench:refused")
            except DomainError as exc:
                assert exc.code == "insufficient_stock", exc.code
            else:
                raise AssertionError("the hold was granted")
            finally:
                db.session.rollback()
        return call

    def refused_request(sku: str):
        body = {"lines": [{"sku": sku, "quantity": 51}], "ttl_minutes": 60}

        def call():
            resp = client.post(f"{api}/stores/{seed.store_id}/reservations", json=body, headers=auth)
            assert resp.status_code == 409, resp.status_code
        return call

    def lookup_service():
        stock.store_stock(seed.store_id, seed.backlog_skus, clock.now())
        db.session.rollback()

    def lookup_request():
        resp = client.get(f"{api}/stores/{seed.store_id}/stock?skus=" + ",".join(seed.backlog_skus))
        assert resp.status_code == 200, resp.status_code

    def availability_service():
        rows = stock.availability(catalog.get_product(seed.skus[0]), clock.now(), None, 100)
        assert len(rows) == 100, len(rows)
        db.session.rollback()

    def availability_request():
        resp = client.get(f"{api}/availability?sku={seed.skus[0]}")
        assert resp.status_code == 200 and len(resp.get_json()) == 100, resp.status_code

    cases = [
        ("refused hold, no expired hold in the way", refused_service(seed.refused_sku),
         refused_request(seed.refused_sku)),
        # The first catalog SKU has expired holds at the bench store: the full path releases
        # them under the lock and looks again (rolled back each time, so they stay expired).
        ("refused hold, expired holds in the way", refused_service(seed.backlog_skus[0]),
         refused_request(seed.backlog_skus[0])),
        ("stock of 100 SKUs, expired holds waiting", lookup_service, lookup_request),
        ("availability of 1 SKU at 100 stores", availability_service, availability_request),
    ]
    results = []
    with app.app_context():
        for name, service, request in cases:
            results.append(Timing(name, _times(service, rounds), _times(request, rounds)))
        db.engine.dispose()
    return results


def table(results: list[Timing]) -> str:
    head = (f"{'in-process (no server)':44} {'rounds':>7} {'svc p50':>9} {'svc p99':>9} "
            f"{'req p50':>9} {'req p99':>9}")
    return "\n".join([head, "-" * len(head), *(r.line() for r in results),
                      "svc = the service call alone, req = the whole request through Flask's test client; ms"])
