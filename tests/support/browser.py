"""Browser fixtures: the app under a real HTTP server on 127.0.0.1 (a thread running werkzeug's
make_server, against the test database) and Debian's Chromium driven by Playwright.

`playwright install` cannot download a browser here: the tests launch /usr/bin/chromium (.ci/run
installs the `chromium` package when it is missing) and are skipped with the reason if it is absent.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TABLET_SIZE = {"width": 1024, "height": 768}


@pytest.fixture
def live_server(app):
    """The test app served over HTTP on a free port of 127.0.0.1 for the length of one test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_context(chromium):
    """A fresh browser profile (its own cookies) at tablet size; closes with the test."""
    contexts = []

    def make(**kwargs):
        context = chromium.new_context(viewport=kwargs.pop("viewport", TABLET_SIZE), **kwargs)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


_taken: list[Path] = []


SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR", Path(__file__).resolve().parents[1] / "browser" / "screenshots"))


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where screenshots go: tests/browser/screenshots/ (git ignores it; SCREENSHOTS_DIR moves it),
    kept after the run, unlike pytest's rotated temporary directories; named at the end of the run."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _taken.append(SCREENSHOTS)
    return SCREENSHOTS


def pytest_terminal_summary(terminalreporter):
    for path in _taken:
        shots = sorted(p.name for p in path.glob("*.png"))
        if shots:
            terminalreporter.write_line(f"screenshots ({', '.join(shots)}): {path}")
