"""A slow Stripe for tests: a small HTTP proxy on 127.0.0.1 in front of localstripe that can hold
back the reply to chosen calls until the test lets it go.

A test holds, say, the capture: the request reaches localstripe (the capture happens), and the
reply waits at the gate. While it waits the test does what must not wait on Stripe (a hold on the
same SKU, a cancel of the order) and then asserts it was answered while the gate was still shut:
an order of events, not a timing. The gate opens by itself after `SAFETY_SECONDS` so a test that
fails (something did wait) ends, below the gateway's own 10 s timeout (no client retry).
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.orders import WEBHOOK_SECRET

SAFETY_SECONDS = 8.0


class Gate:
    """Held replies to requests whose method and path match, until `open()` (or the safety timeout)."""

    def __init__(self, method: str, path_end: str) -> None:
        self.method, self.path_end = method, path_end
        self.arrived = threading.Event()  # a matching request reached the proxy
        self._open = threading.Event()
        self.opened_by_test = False

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and path.split("?")[0].endswith(self.path_end)

    def wait(self) -> None:
        self.arrived.set()
        if not self._open.wait(SAFETY_SECONDS):
            self._open.set()  # opened by the safety timeout: whatever waited for Stripe now goes on

    def open(self) -> None:
        self.opened_by_test = True
        self._open.set()

    @property
    def is_open(self) -> bool:
        return self._open.is_set()


class SlowStripe:
    def __init__(self, upstream: str) -> None:
        self.upstream, self.gates = upstream, []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                req = urllib.request.Request(proxy.upstream + self.path, data=body or None,  # noqa: S310
                                             headers=headers, method=self.command)
                try:
                    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback only
                        status, reply, ctype = resp.status, resp.read(), resp.headers.get("Content-Type")
                except urllib.error.HTTPError as exc:
                    status, reply, ctype = exc.code, exc.read(), exc.headers.get("Content-Type")
                for gate in list(proxy.gates):
                    if gate.matches(self.command, self.path):
                        gate.wait()
                self.send_response(status)
                self.send_header("Content-Type", ctype or "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_POST = do_DELETE = _forward

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def hold(self, method: str, path_end: str) -> Gate:
        gate = Gate(method, path_end)
        self.gates.append(gate)
        return gate

    def stop(self) -> None:
        for gate in self.gates:
            gate.open()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_stripe(app, localstripe_url) -> Iterator[SlowStripe]:
    """The app's Stripe goes through the proxy (a key of its own, so a gateway of its own)."""
    proxy = SlowStripe(localstripe_url)
    app.config.update(STRIPE_SECRET_KEY="sk_test_slow", STRIPE_API_BASE=proxy.url,
                      STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET)
    try:
        yield proxy
    finally:
        proxy.stop()
        app.config.update(STRIPE_SECRET_KEY="", STRIPE_API_BASE="", STRIPE_WEBHOOK_SECRET="")
