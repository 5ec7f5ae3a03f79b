"""/metrics under real gunicorn: the figures of every worker, of a worker that has since exited and of
the scheduler (another process) add up, whichever worker answers the scrape."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import requests

from tests.support.gunicorn import ROOT, gunicorn, workers_of
from tests.support.metrics import AUTH, TOKEN, samples, value

HEALTHZ = {"method": "GET", "route": "/healthz", "status": "200"}


def scrape(url: str) -> dict:
    resp = requests.get(url + "/metrics", headers=AUTH, timeout=30)
    assert resp.status_code == 200, resp.text
    return samples(resp.text)


def test_workers_and_the_scheduler_add_up_and_a_dead_worker_still_counts(app, database_url, tmp_path):
    env = {"DATABASE_URL": database_url, "METRICS_TOKEN": TOKEN, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
           "SECRET_KEY": "test-secret-long-enough-to-pass-the-startup-check", "LOG_LEVEL": "WARNING",
           "OMNISHOP_INSTANCE_DIR": str(tmp_path / "instance")}
    with open(tmp_path / "gunicorn.log", "wb") as log, gunicorn("wsgi:app", env, workers=2, log=log) as (url, master):
        first = workers_of(master)
        assert requests.get(url + "/metrics", timeout=30).status_code == 401  # no token, no figures
        session = requests.Session()
        for _ in range(20):
            assert session.get(url + "/healthz", timeout=30).status_code == 200
        session.close()
        assert value(scrape(url), "omnishop_http_request_duration_seconds_count", **HEALTHZ) == 20

        # Every worker exits (gunicorn starts new ones): what they counted is still in the sum.
        for pid in first:
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while not (len(now := workers_of(master)) == 2 and not set(now) & set(first)):
            assert time.monotonic() < deadline, "gunicorn did not replace its workers"
            time.sleep(0.2)
        assert requests.get(url + "/healthz", timeout=30).status_code == 200
        after = scrape(url)
        assert value(after, "omnishop_http_request_duration_seconds_count", **HEALTHZ) == 21
        # child_exit marked them dead: their live gauges (pool use) left the sum with them.
        assert not [name for name in os.listdir(tmp_path) if any(f"_{pid}.db" in name and "live" in name
                                                                 for pid in first)]

        # The scheduler, a process of its own, writes beside the workers and shows in their scrape.
        once = subprocess.run([sys.executable, "-m", "flask", "scheduler", "run", "--once"], cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT), "FLASK_APP": "wsgi:app", **env},
                              capture_output=True, timeout=300)
        assert once.returncode == 0, once.stderr.decode()[-2000:]
        swept = scrape(url)
        for sweep in ("release_expired_holds", "expire_unpaid", "deliver_outbox"):
            assert value(swept, "omnishop_sweep_duration_seconds_count", sweep=sweep, outcome="ok") == 1
        assert value(swept, "omnishop_outbox_due_messages") == 0
