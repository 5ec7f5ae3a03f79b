"""The world a fault scenario runs in: a PostgreSQL database of its own, localstripe, a FaultProxy in
front of each, and the app under gunicorn on 127.0.0.1 reaching both only through the proxies.
Scenarios switch the proxies, call the app over HTTP, read its log and check the stock invariants
on a direct connection. `with World() as world:` builds it all and tears it all down."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests
from sqlalchemy import make_url

from faults.proxy import FaultProxy
from tests.support.scratch_database import scratch_database

ROOT = Path(__file__).resolve().parent.parent
# FAULTS_DATABASE_URL: the server to make the throw-away database on; FAULTS_WORKERS: gunicorn
# workers; FAULTS_KEEP_LOG=1 keeps the app's log file for reading after the run.
ADMIN_URL = os.environ.get("FAULTS_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
WORKERS = int(os.environ.get("FAULTS_WORKERS", "2"))
SKUS = ("FLT-MUG", "FLT-TEA")
PROBLEM = "application/problem+json"


@dataclass
class Reply:
    """One HTTP exchange as a scenario judges it: when it started (monotonic), how long it took."""

    started: float
    seconds: float
    status: int | None  # None: no HTTP answer at all (reset, timeout)
    content_type: str = ""
    body: dict | None = None
    text: str = ""
    retry_after: str | None = None

    @property
    def code(self) -> str | None:
        return (self.body or {}).get("code")

    @property
    def is_problem(self) -> bool:
        return self.content_type.startswith(PROBLEM) and self.body is not None


class World:
    def __init__(self, env: dict | None = None) -> None:
        self.env = env or {}
        self.db_name = f"omnishop_faults_{uuid.uuid4().hex[:10]}"
        self.direct_url = make_url(ADMIN_URL).set(drivername="postgresql+psycopg", database=self.db_name)
        self._stack = contextlib.ExitStack()  # the world
        self._server = contextlib.ExitStack()  # the app under gunicorn, restarted by serve()

    # -- building and tearing down ------------------------------------------------------------

    def __enter__(self) -> World:
        try:
            self._database()
            self._seed()
            self._stripe()
            self._stack.callback(self._server.close)
            self.serve()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def _database(self) -> None:
        self._stack.enter_context(scratch_database(ADMIN_URL, self.db_name))
        upstream = (self.direct_url.host or "127.0.0.1", self.direct_url.port or 5432)
        self.db_proxy = FaultProxy(upstream, "postgres")
        self._stack.callback(self.db_proxy.close)

    def _seed(self) -> None:
        """Migrate and seed in-process on a direct connection: one store, two SKUs, deep stock."""
        import flask_migrate

        from shop.app import create_app
        from shop.core.extensions import db
        from tests.support import factories as f

        self.app = create_app({"SQLALCHEMY_DATABASE_URI": self.direct_url.render_as_string(False),
                               "LOG_LEVEL": "WARNING"})
        with self.app.app_context():
            flask_migrate.upgrade()
            store = f.store(code="FLT", name="Fault store")
            for sku in SKUS:
                f.stock(store, f.product(sku=sku, price=900), 100_000)
            db.session.commit()
            self.store_id = store.id

        def dispose() -> None:
            with self.app.app_context():
                db.engine.dispose()

        self._stack.callback(dispose)

    def _stripe(self) -> None:
        from tests.support.localstripe import start_localstripe

        url, stop = start_localstripe()
        self._stack.callback(stop)
        port = int(url.rsplit(":", 1)[1])
        self.stripe_proxy = FaultProxy(("127.0.0.1", port), "stripe")
        self._stack.callback(self.stripe_proxy.close)

    def serve(self, env: dict | None = None) -> None:
        """(Re)start the app under gunicorn, with `env` on top of the world's settings; a fresh log."""
        self._server.close()
        self.settings = {**self.env, **(env or {})}
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        proxied = self.direct_url.set(host="127.0.0.1", port=self.db_proxy.port)
        full_env = {**os.environ, "DATABASE_URL": proxied.render_as_string(False),
                    "STRIPE_SECRET_KEY": "sk_test_faults",
                    "STRIPE_API_BASE": f"http://127.0.0.1:{self.stripe_proxy.port}",
                    "LOG_LEVEL": "INFO", "PYTHONPATH": str(ROOT), **self.settings}
        self.log_path = Path(tempfile.mkstemp(prefix="omnishop-faults-", suffix=".log")[1])
        if not os.environ.get("FAULTS_KEEP_LOG"):
            self._server.callback(self.log_path.unlink, missing_ok=True)
        log = self.log_path.open("wb")
        self._server.callback(log.close)
        proc = subprocess.Popen(  # noqa: S603 (our own command line)
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--no-control-socket",
             "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)

        def stop() -> None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

        self._server.callback(stop)
        deadline = time.monotonic() + 30
        while self.call("GET", "/readyz", timeout=5).status != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not get ready:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)

    # -- talking to the app -------------------------------------------------------------------

    def call(self, method: str, path: str, json_body: dict | None = None, headers: dict | None = None,
             timeout: float = 60, session: requests.Session | None = None) -> Reply:
        started = time.monotonic()
        try:
            resp = (session or requests).request(method, self.url + path, json=json_body, headers=headers,
                                                 timeout=timeout)
        except requests.RequestException as exc:
            return Reply(started, time.monotonic() - started, None, text=type(exc).__name__)
        seconds = time.monotonic() - started
        ctype = resp.headers.get("Content-Type", "")
        try:
            body = resp.json() if "json" in ctype else None
        except ValueError:
            body = None
        return Reply(started, seconds, resp.status_code, ctype, body, resp.text[:500],
                     resp.headers.get("Retry-After"))

    def cart(self, session: requests.Session | None = None, quantity: int = 1) -> str:
        """A guest cart at the fault store with one line and an email: ready to check out."""
        cart = self.call("POST", "/api/v1/carts", {"pickup_store_id": self.store_id}, session=session)
        if cart.status != 201:
            raise RuntimeError(f"could not make a cart: {cart.status} {cart.text}")
        cart_id = cart.body["id"]
        self.call("POST", f"/api/v1/carts/{cart_id}/lines", {"sku": SKUS[0], "quantity": quantity},
                  session=session)
        self.call("PATCH", f"/api/v1/carts/{cart_id}", {"email": "faults@example.com"}, session=session)
        return cart_id

    def checkout(self, cart_id: str, method: str = "card") -> Reply:
        return self.call("POST", f"/api/v1/carts/{cart_id}/checkout", {"payment_method": method},
                         headers={"Idempotency-Key": uuid.uuid4().hex})

    # -- what the app wrote and left ---------------------------------------------------------

    def log_mark(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, mark: int) -> list[str]:
        with self.log_path.open("rb") as log:
            log.seek(mark)
            return log.read().decode(errors="replace").splitlines()

    def worker_events(self) -> tuple[int, int]:
        """(workers booted, workers killed for a timeout) since gunicorn started."""
        text = self.log_path.read_text(errors="replace")
        return len(re.findall(r"Booting worker with pid", text)), len(re.findall(r"WORKER TIMEOUT", text))

    def invariants(self) -> str | None:
        """The stock invariants on a direct connection: None when they hold, else what broke."""
        from shop.core.extensions import db
        from tests.support.invariants import assert_stock_invariants

        with self.app.app_context():
            try:
                assert_stock_invariants()
            except AssertionError as exc:
                return str(exc)
            finally:
                db.session.remove()
        return None


def outage_lines(lines: list[str]) -> list[str]:
    """The log lines that are not one request's access line or gunicorn's own start-up chatter."""
    kept = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            if "[INFO]" not in line:
                kept.append(line)
            continue
        if record.get("logger") != "omnishop.access":
            kept.append(line)
    return kept


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
