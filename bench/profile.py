"""Profile an endpoint in-process with pyinstrument, on a bench database (not part of `make bench`).

    python -m bench.profile checkout|handover|add|read|reserve [N]
    PROFILE_STATEMENTS=1 ...   one request's statements;  PROFILE_CPU=1 ...   each per-request hook's CPU cost

Seeds a bench database (BENCH_CATALOG etc. as for `make bench`; a smaller catalog seeds faster),
then sends N requests (default 300) through the app's test client, as one client would, inside a
pyinstrument profile, and prints where the time went and the mean ms per request. No network, no
gunicorn: what is left is the app's own cost per request. `add` and `read` are the bench's add to
cart and cart read (a guest cart with 5 lines, one unit of one of 10 SKUs added at a time); `reserve`
the bench's one-line hold by staff.
PROFILE_CPU=1 runs without pyinstrument and prints each request hook's cost instead (bench/hooks.py).
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("OMNISHOP_ENV", "development")


def main() -> None:
    if os.environ.get("PROFILE_CPU"):  # metrics stored as under gunicorn (gunicorn.conf.py), before prometheus loads
        import tempfile
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="omnishop-profile-metrics-"))
    from pyinstrument import Profiler

    from bench.servers import UNTHROTTLED, bench_database, make_ready, prepared_carts, settle
    from shop.app import create_app

    what = sys.argv[1] if len(sys.argv) > 1 else "checkout"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    with bench_database() as (url, seed):
        carts = prepared_carts(url, seed.store_id, n)
        settle(url)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING", **UNTHROTTLED})
        client = app.test_client()
        placed = []
        profiler = Profiler(interval=0.0005)

        def checkout(cart_id):
            resp = client.post(f"/api/v1/carts/{cart_id}/checkout", json={"payment_method": "pay_at_store"},
                               headers={"Idempotency-Key": cart_id})
            assert resp.status_code == 201, resp.get_data(as_text=True)
            placed.append((resp.get_json()["order"]["id"], resp.get_json()["pickup_code"]))

        def handover(item):
            order_id, code = item
            resp = client.post(f"/api/v1/orders/{order_id}/handover", json={"pickup_code": code},
                               headers={"Authorization": f"Bearer {seed.token}"})
            assert resp.status_code == 200, resp.get_data(as_text=True)

        def add(item):
            cart_id, sku = item
            resp = client.post(f"/api/v1/carts/{cart_id}/lines", json={"sku": sku, "quantity": 1})
            assert resp.status_code == 200, resp.get_data(as_text=True)

        def read(item):
            resp = client.get(f"/api/v1/carts/{item[0]}")
            assert resp.status_code == 200, resp.get_data(as_text=True)

        def reserve(_item):
            resp = client.post(f"/api/v1/stores/{seed.store_id}/reservations",
                               json={"lines": [{"sku": seed.skus[0], "quantity": 1}], "ttl_minutes": 60},
                               headers={"Authorization": f"Bearer {seed.token}"})
            assert resp.status_code == 201, resp.get_data(as_text=True)

        if what == "reserve":
            step, items = reserve, list(range(n + 10))
        elif what in ("add", "read"):
            step, items = (add if what == "add" else read), _cart_steps(client, seed, n)
        elif what == "handover":
            for cart_id in carts:
                checkout(cart_id)
            make_ready(url, placed)
            step, items = handover, list(placed)
        else:
            step, items = checkout, carts
        for item in items[:10]:  # warm-up: first requests build caches and connections
            step(item)
        seen: list[str] = []
        with app.app_context():
            from sqlalchemy import event

            from shop.core.extensions import db
            event.listen(db.engine, "before_cursor_execute", lambda c, cur, stmt, *a: seen.append(stmt))
        if os.environ.get("PROFILE_STATEMENTS"):  # one request's statements, in order
            step(items[10])
            print("\n".join(f"{n:3d} {s[:150]}" for n, s in enumerate(seen, 1)))
            return
        done = len(items) - 10
        if os.environ.get("PROFILE_CPU"):  # each hook's cost, no pyinstrument
            from bench.hooks import instrument
            times = instrument(app)
            began, cpu = time.perf_counter(), time.process_time()
            for item in items[10:]:
                step(item)
            took = time.perf_counter() - began
            print(times.table(done, took, time.process_time() - cpu))
        else:
            began = time.perf_counter()
            with profiler:
                for item in items[10:]:
                    step(item)
            took = time.perf_counter() - began
            print(profiler.output_text(unicode=True, color=False, show_all=False))
        print(f"{what}: {done} requests, {took / done * 1000:.2f} ms each in-process, "
              f"{len(seen) / done:.1f} statements each (pings, BEGIN and COMMIT not counted)")
        with app.app_context():
            from shop.core.extensions import db
            db.engine.dispose()


def _cart_steps(client, seed, n: int) -> list[tuple[str, str]]:
    """(cart id, SKU to add) for n + 10 requests: guest carts of 5 lines at the bench store, as the
    bench's clients make them, a fresh one every 200 adds (far from the 99-unit line cap)."""
    steps = []
    for start in range(0, n + 10, 200):
        cart = client.post("/api/v1/carts", json={"pickup_store_id": seed.store_id}).get_json()
        for sku in seed.skus[:5]:
            assert client.post(f"/api/v1/carts/{cart['id']}/lines", json={"sku": sku, "quantity": 1}).status_code == 200
        steps += [(cart["id"], seed.skus[k % 10]) for k in range(start, min(start + 200, n + 10))]
    return steps


if __name__ == "__main__":
    main()
