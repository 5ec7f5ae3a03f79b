"""Profile checkout or handover in-process with pyinstrument, on a bench database (not part of `make bench`).

    python -m bench.profile checkout|handover [N]
    PROFILE_STATEMENTS=1 ...   one request's statements;  PROFILE_CPU=1 ...   cProfile of CPU time only

Seeds a bench database (BENCH_CATALOG etc. as for `make bench`; a smaller catalog seeds faster),
then sends N requests (default 300) through the app's test client, as one client would, inside a
pyinstrument profile, and prints where the time went and the mean ms per request. No network, no
gunicorn: what is left is the app's own cost per request.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("OMNISHOP_ENV", "development")


def main() -> None:
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

        if what == "handover":
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
        began, cpu = time.perf_counter(), time.process_time()
        if os.environ.get("PROFILE_CPU"):  # CPU only (waits for PostgreSQL left out), by function
            import cProfile
            import pstats

            cpu_profile = cProfile.Profile(time.process_time)
            cpu_profile.runcall(lambda: [step(item) for item in items[10:]])
            took, cpu = time.perf_counter() - began, time.process_time() - cpu
            pstats.Stats(cpu_profile).sort_stats("cumulative").print_stats(45)
        else:
            with profiler:
                for item in items[10:]:
                    step(item)
            took, cpu = time.perf_counter() - began, time.process_time() - cpu
            print(profiler.output_text(unicode=True, color=False, show_all=False))
        done = len(items) - 10
        print(f"{what}: {done} requests, {took / done * 1000:.2f} ms each in-process ({cpu / done * 1000:.2f} ms CPU), "
              f"{len(seen) / done:.1f} statements each (pings, BEGIN and COMMIT not counted)")
        with app.app_context():
            from shop.core.extensions import db
            db.engine.dispose()


if __name__ == "__main__":
    main()
