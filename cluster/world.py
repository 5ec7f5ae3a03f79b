"""The cluster `make cluster` runs: one PostgreSQL database of its own (dropped at the end), a Redis of
its own for the rate limits, an SMTP server that counts what it receives, one localstripe every node
and scheduler takes cards through, two gunicorn nodes, two scheduler candidates and nginx in front,
all on 127.0.0.1. `with Cluster() as c:` builds and removes it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import redis
from sqlalchemy import make_url

from cluster import nginx
from tests.support.cluster_nodes import Proc, free_port, rss_kb, start_node, start_scheduler
from tests.support.scratch_database import scratch_database

ADMIN_URL = os.environ.get("CLUSTER_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
WORKERS = int(os.environ.get("CLUSTER_WORKERS", "2"))  # gunicorn workers per node
LEASE, RENEW = 6, 2  # SCHEDULER_LEASE_SECONDS, SCHEDULER_RENEW_SECONDS: short, so a takeover is seen quickly
SWEEP = 5  # seconds between runs of the frequent sweeps (holds, unpaid, outbox)
PAYMENT_WINDOW = 120  # seconds a card order waits for its authorisation before the unpaid sweep expires it
CART_IDLE = 60  # seconds without a change after which a cart is abandoned
STORES = ("CLA", "CLB")
SKUS = tuple(f"CL-{n:02d}" for n in range(20))
SECRET = secrets.token_urlsafe(48)  # one per run, shared by every process of the cluster
WEBHOOK_SECRET = f"whsec_{secrets.token_hex(24)}"  # the nodes check Stripe's signatures with it; cards.py signs
STRIPE_KEY = "sk_test_cluster"


@dataclass
class Seed:
    store_ids: dict[str, int]  # code -> id
    staff: dict[int, str] = field(default_factory=dict)  # store id -> a clerk's bearer token


class Cluster:
    def __init__(self) -> None:
        self.db_name = f"omnishop_cluster_{uuid.uuid4().hex[:10]}"
        self.url = make_url(ADMIN_URL).set(database=self.db_name).render_as_string(hide_password=False)
        self.dsn = self.url.replace("postgresql+psycopg://", "postgresql://")
        self.workdir = Path(tempfile.mkdtemp(prefix="omnishop-cluster-"))
        self.nodes: list[Proc] = []
        self.schedulers: list[Proc] = []
        self.extra: dict[str, subprocess.Popen] = {}  # nginx, redis
        self._stack = contextlib.ExitStack()

    # -- building -----------------------------------------------------------------------------

    def __enter__(self) -> Cluster:
        try:
            self._database()
            self._redis()
            self._smtp()
            self._stripe()
            self.env = self._env()
            self.seed = self._seed()
            self.schedulers = [start_scheduler(f"scheduler-{n}", self.env, self.workdir) for n in (1, 2)]
            self._stack.callback(lambda: [proc.stop() for proc in self.schedulers])
            self.nodes = [start_node(f"node-{n}", self.env, self.workdir, WORKERS) for n in ("a", "b")]
            self._stack.callback(lambda: [proc.stop() for proc in self.nodes])
            self._nginx()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def _database(self) -> None:
        self._stack.enter_context(scratch_database(ADMIN_URL, self.db_name))

    def _seed(self) -> Seed:
        """Migrate and seed in-process: two stores, 20 SKUs deep in stock at both, a clerk per store."""
        import flask_migrate

        from shop.accounts import auth
        from shop.app import create_app
        from shop.core.extensions import db
        from tests.support import factories as f

        # The same settings as the processes (sweep intervals above all), as numbers where they are numbers.
        same = {key: int(value) if value.isdigit() else value for key, value in self.env.items()
                if key not in ("DATABASE_URL", "LOG_LEVEL")}
        self.app = create_app({**same, "SQLALCHEMY_DATABASE_URI": self.url, "LOG_LEVEL": "WARNING"})
        with self.app.app_context():
            flask_migrate.upgrade()
            stores = [f.store(code=code, name=f"Cluster store {code}") for code in STORES]
            products = [f.product(sku=sku, price=500 + 100 * n) for n, sku in enumerate(SKUS)]
            for store in stores:
                for product in products:
                    f.stock(store, product, 1_000_000)
            clerks = {store.id: f.user("staff", [store]) for store in stores}
            db.session.commit()
            seed = Seed({store.code: store.id for store in stores},
                        {store_id: auth.issue_token(clerk)[0] for store_id, clerk in clerks.items()})
            db.session.commit()

        def dispose() -> None:
            with self.app.app_context():
                db.engine.dispose()

        self._stack.callback(dispose)
        return seed

    def _redis(self) -> None:
        port = free_port()
        proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",  # noqa: S603, S607
                                 "--appendonly", "no"], stdout=(self.workdir / "redis.log").open("wb"),
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.extra["redis"] = proc
        self._stack.callback(_stop, proc)
        self.redis_url = f"redis://127.0.0.1:{port}/0"
        for _ in range(100):
            with contextlib.suppress(redis.RedisError):
                if redis.Redis.from_url(self.redis_url, socket_connect_timeout=0.5).ping():
                    return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def _smtp(self) -> None:
        from tests.support.smtp import SmtpServer

        self.smtp = SmtpServer()
        self.smtp.start()
        self._stack.callback(self.smtp.stop)

    def _stripe(self) -> None:
        """One localstripe for every process (it sends no webhooks: cluster/cards.py posts them)."""
        from tests.support.localstripe import start_localstripe
        from tests.support.orders import stripe_client

        self.stripe_url, stop = start_localstripe()
        self._stack.callback(stop)
        self.stripe = stripe_client(self.stripe_url, STRIPE_KEY)  # the shopper's app, and what Stripe holds

    def _env(self) -> dict:
        lots = "100000/minute"  # the traffic all comes from 127.0.0.1: per-address limits would refuse it
        return {"DATABASE_URL": self.url, "SECRET_KEY": SECRET, "OMNISHOP_INSTANCE_DIR": str(self.workdir),
                "LOG_LEVEL": "INFO", "RATELIMIT_STORAGE_URI": self.redis_url, "TRUSTED_PROXIES": "1",
                "SCHEDULER_LEASE_SECONDS": str(LEASE), "SCHEDULER_RENEW_SECONDS": str(RENEW),
                "HOLDS_SWEEP_SECONDS": str(SWEEP), "UNPAID_SWEEP_SECONDS": str(SWEEP),
                "OUTBOX_SWEEP_SECONDS": str(SWEEP), "NO_SHOWS_SWEEP_SECONDS": "10", "REMINDERS_SWEEP_SECONDS": "10",
                "VOIDS_SWEEP_SECONDS": "10", "RECONCILE_SWEEP_SECONDS": "30",
                "CHECKOUT_RATE_LIMIT": lots, "PICKUP_CODE_RATE_LIMIT": lots, "COUPON_RATE_LIMIT": lots,
                "STRIPE_SECRET_KEY": STRIPE_KEY, "STRIPE_API_BASE": self.stripe_url,
                "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "PAYMENT_WINDOW_SECONDS": str(PAYMENT_WINDOW),
                # Abandoned carts and campaigns at soak speed (cluster/campaign.py): idle after a minute.
                "CART_IDLE_SECONDS": str(CART_IDLE), "ABANDONED_CARTS_SWEEP_SECONDS": "10",
                "CAMPAIGNS_SWEEP_SECONDS": "10",
                **{key: str(value) for key, value in self.smtp.config().items()}}

    def _nginx(self) -> None:
        binary = nginx.ensure_installed()
        self.port = free_port()
        proc = nginx.start(binary, self.workdir / "nginx", self.port, [node.url for node in self.nodes])
        self.extra["nginx"] = proc
        self._stack.callback(_stop, proc)
        self.lb = f"http://127.0.0.1:{self.port}"

    # -- reading ------------------------------------------------------------------------------

    def intervals(self) -> dict[str, float]:
        from shop.core.scheduler import registered

        return {name: seconds for name, (seconds, _) in registered(self.app).items()}

    def memory(self) -> dict[str, int]:
        """RSS in kB of every process of the cluster, by name (node-a/1 is node a's first worker)."""
        found: dict[str, int] = {}
        for proc in [*self.nodes, *self.schedulers]:
            if not proc.alive():
                continue
            for n, pid in enumerate(proc.pids()):
                kb = rss_kb(pid)
                if kb is not None:
                    found[proc.name if n == 0 else f"{proc.name}/{n}"] = kb
        for name, popen in self.extra.items():
            for n, pid in enumerate(Proc(name, popen, Path()).pids()):
                kb = rss_kb(pid)
                if kb is not None:
                    found[name if n == 0 else f"{name}/{n}"] = kb
        return found


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
