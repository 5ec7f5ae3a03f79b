"""localstripe (a fake, stateful Stripe API) served over real HTTP on loopback, for tests.

Why: driving PaymentIntents through the real ``stripe`` SDK and its HTTP client
catches what mocks hide (parameter encoding, error mapping, status flow).
The stock ``python -m localstripe`` binds every interface ('::') on a fixed port
and pickles its whole state to /tmp/localstripe.pickle on each write.  Here the
parent binds 127.0.0.1 on a free port and hands that listening socket to a child
process serving localstripe's aiohttp app, with the disk dump switched off: no
port race, nothing on other interfaces, fresh state per server, and the child
exits when stopped or when this process dies (it watches its stdin).
State lives for the whole session: tests create their own objects.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

import pytest

_CHILD = """
import os, signal, socket, sys, threading
from aiohttp import web
from localstripe import resources
from localstripe.server import app
resources.Store.dump_to_disk = lambda self: None
def _orphan_guard():
    sys.stdin.read()
    os.kill(os.getpid(), signal.SIGTERM)
threading.Thread(target=_orphan_guard, daemon=True).start()
web.run_app(app, sock=socket.socket(fileno=int(sys.argv[1])), print=None,
            access_log=None, shutdown_timeout=1)
"""


def start_localstripe(timeout: float = 15.0) -> tuple[str, Callable[[], None]]:
    """Serve localstripe on 127.0.0.1:<free port>; return (base_url, stop)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections queue here until the child accepts them
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
    with sock:
        proc = subprocess.Popen(
            [sys.executable, "-W", "ignore::DeprecationWarning", "-c", _CHILD, str(sock.fileno())],
            pass_fds=[sock.fileno()],
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        proc.stdin.close()
        log.close()

    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{base_url}/v1/payment_intents", timeout=timeout).close()  # noqa: S310
        except urllib.error.HTTPError:
            pass  # 401 without a key: the server answers
        except OSError:
            if proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            code = proc.poll()
            log.seek(0)
            output = log.read().decode(errors="replace")
            stop()
            raise RuntimeError(f"localstripe did not start (exit {code}):\n{output}") from None
        return base_url, stop


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    pytest.importorskip("localstripe", reason="localstripe is not installed")
    base_url, stop = start_localstripe()
    try:
        yield base_url
    finally:
        stop()
