"""Background traffic: client threads calling the app in a loop while a scenario breaks something,
every reply kept with its start time so the scenario can judge each phase apart."""

from __future__ import annotations

import threading
import time

import requests

from faults.world import SKUS, Reply, World

# What one round of a traffic thread does: a cart read, a change to the cart, a stock read.
ROUND = (
    lambda w, s, cart: w.call("GET", f"/api/v1/carts/{cart}", session=s),
    lambda w, s, cart: w.call("PATCH", f"/api/v1/carts/{cart}/lines/{SKUS[0]}", {"quantity": 2}, session=s),
    lambda w, s, cart: w.call("GET", f"/api/v1/stores/{w.store_id}/stock?skus={','.join(SKUS)}", session=s),
)


class Traffic:
    """`threads` clients, each with its own cart, calling ROUND until stop(); pause between calls."""

    def __init__(self, world: World, threads: int = 4, pause: float = 0.02) -> None:
        self.world, self.pause = world, pause
        self.replies: list[Reply] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(world.cart(),), daemon=True)
                         for _ in range(threads)]

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> list[Reply]:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)
        return self.replies

    def _run(self, cart: str) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            for call in ROUND:
                reply = call(self.world, session, cart)
                with self._lock:
                    self.replies.append(reply)
                if reply.status is None:
                    session = requests.Session()  # a dropped connection: start afresh
                time.sleep(self.pause)
