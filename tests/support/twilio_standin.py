"""A Twilio stand-in on 127.0.0.1 that the real twilio SDK talks to (SMS_TWILIO_API_BASE points here).

It accepts POST /2010-04-01/Accounts/<sid>/Messages.json like Twilio, keeps what it accepted, and
answers from a script first: a status code (500, 429) or "hang" (answers nothing until the client
has given up, and keeps nothing, as if the request was lost). Numbers in `invalid` get Twilio's
400 / 21211. `on_accept(form, sid)` runs after a message is kept and before the answer (a status
report that beats the sender's own write, a sender killed mid-send).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "standin-auth-token"
HANG_SECONDS = 3.0  # longer than the SMS_TIMEOUT_SECONDS the fixture sets


class TwilioStandIn:
    def __init__(self) -> None:
        self.accepted: list[dict] = []
        self.requests = 0
        self.script: list[int | str] = []
        self.invalid: set[str] = set()
        self.on_accept: Callable[[dict, str], None] | None = None
        self._lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                standin.handle(self, {k: v[0] for k, v in parse_qs(body).items()})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _answer(self, handler, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def handle(self, handler, form: dict) -> None:
        with self._lock:
            self.requests += 1
            step = self.script.pop(0) if self.script else "ok"
        if not handler.path.endswith("/Messages.json"):
            return self._answer(handler, 404, {"code": 20404, "message": "not found", "status": 404})
        if step == "hang":
            time.sleep(HANG_SECONDS)
            return None
        if isinstance(step, int):
            return self._answer(handler, step, {"code": 20429 if step == 429 else 20500,
                                                "message": f"stand-in says {step}", "status": step})
        if form.get("To") in self.invalid:
            return self._answer(handler, 400, {"code": 21211, "status": 400,
                                               "message": f"The 'To' number {form['To']} is not a valid phone number."})
        sid = "SM" + uuid.uuid4().hex
        with self._lock:
            self.accepted.append({**form, "sid": sid})
        if self.on_accept is not None:
            self.on_accept(form, sid)
        return self._answer(handler, 201, {"sid": sid, "status": "queued", "to": form.get("To"),
                                           "from": form.get("From"), "body": form.get("Body"),
                                           "account_sid": ACCOUNT_SID, "num_segments": "1"})

    def to(self, number: str) -> list[dict]:
        return [m for m in self.accepted if m.get("To") == number]

    def config(self) -> dict:
        return {"SMS_BACKEND": "twilio", "SMS_TWILIO_API_BASE": self.base_url, "SMS_FROM": "+15005550006",
                "SMS_TWILIO_ACCOUNT_SID": ACCOUNT_SID, "SMS_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                "SMS_TIMEOUT_SECONDS": 1}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def twilio_standin(app) -> Iterator[TwilioStandIn]:
    """A running stand-in, and the app's texts sent to it for this test."""
    standin = TwilioStandIn()
    standin.start()
    saved = {key: app.config[key] for key in standin.config()}
    app.config.update(standin.config())
    try:
        yield standin
    finally:
        app.config.update(saved)
        standin.stop()
