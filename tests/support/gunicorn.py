"""gunicorn on a free port of 127.0.0.1, serving the app as shipped (gunicorn.conf.py read from the project)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            requests.get(url + "/", timeout=5)
            return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextlib.contextmanager
def gunicorn(target: str, env: dict, workers: int, log=None,
             root: Path = ROOT) -> Iterator[tuple[str, subprocess.Popen]]:
    """Start gunicorn (`target` like "wsgi:app") with `env` added to this process's; (its URL, the
    master process). Terminated, and waited for, on the way out. `root`: the source tree served
    (the bench can serve an older commit's, unpacked elsewhere, beside this one)."""
    port = free_port()
    cmd = [sys.executable, "-m", "gunicorn", "--no-control-socket", "--workers", str(workers),
           "--bind", f"127.0.0.1:{port}", "--log-level", "warning", target]
    proc = subprocess.Popen(cmd, cwd=root, env={**os.environ, "PYTHONPATH": str(root), **env},
                            stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url)
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def workers_of(master: subprocess.Popen) -> list[int]:
    """The pids of the master's worker processes now (Linux /proc)."""
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    return sorted(int(pid) for pid in children)
