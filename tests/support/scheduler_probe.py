"""Real `flask scheduler run` processes for tests: the real app plus probe sweeps that record each firing.

The subprocesses load `create_app` below (FLASK_APP), so nothing test-only lives in the shipped app.
Each probe writes (sweep, the interval it fired for, pid, time) into FIRINGS, a table the test makes.
"""

from __future__ import annotations

import functools
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from sqlalchemy import text

from shop.app import create_app as create_shop_app
from shop.core.extensions import db
from shop.core.scheduler import register_sweep
from shop.core.transactions import transaction

ROOT = Path(__file__).resolve().parents[2]
FIRINGS = "scheduler_probe_firings"
PROBES = {"probe_fast": 1, "probe_slow": 2}  # name: seconds
CREATE_FIRINGS = (f"CREATE TABLE {FIRINGS} (id serial PRIMARY KEY, sweep text NOT NULL, slot bigint NOT NULL, "
                  "pid integer NOT NULL, fired_at timestamptz NOT NULL)")


def _record(name: str, seconds: int) -> int:
    slot = math.floor(time.time() / seconds)  # the interval this firing is for, read before any I/O
    with transaction():
        db.session.execute(text(f"INSERT INTO {FIRINGS} (sweep, slot, pid, fired_at) "
                                "VALUES (:sweep, :slot, :pid, clock_timestamp())"),
                           {"sweep": name, "slot": slot, "pid": os.getpid()})
    return 1


def create_app() -> Flask:
    """FLASK_APP for the subprocesses: the app as shipped, plus the probes."""
    app = create_shop_app()
    for name, seconds in PROBES.items():
        register_sweep(app, name, seconds, functools.partial(_record, name, seconds))
    return app


@contextmanager
def schedulers(count: int, database_url: str, workdir: Path, **settings) -> Iterator[list[subprocess.Popen]]:
    """Start `count` `flask scheduler run` processes on the database; every one is killed on the way out."""
    env = {**os.environ, "FLASK_APP": f"{__name__}:create_app", "DATABASE_URL": database_url,
           "OMNISHOP_INSTANCE_DIR": str(workdir), "PYTHONPATH": str(ROOT), "SECRET_KEY": "test-secret-long-enough-to-pass-the-startup-check",
           "LOG_LEVEL": "INFO", **{key: str(value) for key, value in settings.items()}}
    procs: list[subprocess.Popen] = []
    try:
        for n in range(count):
            with open(workdir / f"scheduler-{n}.log", "wb") as log:
                procs.append(subprocess.Popen([sys.executable, "-m", "flask", "scheduler", "run"], env=env,
                                              cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        for proc in procs:
            proc.wait(timeout=30)


def logs(workdir: Path, tail: int | None = 4000) -> str:
    """Every process's output (the end of it, for a failing assertion's message)."""
    texts = {path.name: path.read_text(errors="replace") for path in sorted(workdir.glob("scheduler-*.log"))}
    return "\n".join(f"--- {name}\n{text if tail is None else text[-tail:]}" for name, text in texts.items())
