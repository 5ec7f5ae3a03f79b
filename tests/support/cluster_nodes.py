"""Real processes of a multi-node Omnishop for the cluster test and `make cluster`: gunicorn nodes and
`flask scheduler run` candidates over one database, each killable like a machine dying (SIGKILL to
its whole process group), and what they leave to judge: the lease, who fired which sweep, RSS.

A node is started in a session of its own so SIGKILL reaches the master and every worker at once:
killing only the master leaves its workers serving the inherited socket for a while, which is not
what a dead machine does.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Proc:
    """One started process (a node's gunicorn master, a scheduler) with its log file."""

    name: str
    popen: subprocess.Popen
    log: Path
    url: str | None = None  # a web node's own address
    killed_at: float | None = None  # time.time() of the SIGKILL

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def pids(self) -> list[int]:
        """This process and its children (a gunicorn master's workers), from /proc."""
        found = [self.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.pid:
                    found.append(int(entry.name))
        return found

    def kill(self) -> None:
        """SIGKILL to the process group: the master and its workers die together, nothing is cleaned up."""
        self.killed_at = time.time()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM (a clean stop: a scheduler releases its lease), SIGKILL after 30 s."""
        if self.alive():
            os.killpg(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def _spawn(name: str, argv: list[str], env: dict, workdir: Path) -> Proc:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env},  # noqa: S603
                                 stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return Proc(name, popen, log)


def start_node(name: str, env: dict, workdir: Path, workers: int = 2) -> Proc:
    """gunicorn with the shipped config on a free 127.0.0.1 port; returns once /readyz answers 200."""
    port = free_port()
    proc = _spawn(name, [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--no-control-socket",
                         "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "wsgi:app"], env, workdir)
    proc.url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if requests.get(proc.url + "/readyz", timeout=5).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        if not proc.alive() or time.monotonic() > deadline:
            proc.stop()
            raise RuntimeError(f"{name} did not get ready:\n{proc.log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.3)


def start_scheduler(name: str, env: dict, workdir: Path) -> Proc:
    return _spawn(name, [sys.executable, "-m", "flask", "--app", "wsgi:app", "scheduler", "run"], env, workdir)


def lease_holder(conninfo: str) -> tuple[int, float] | None:
    """(pid, seconds left) of the scheduler lease while it has not lapsed, else None."""
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute("SELECT holder, extract(epoch FROM expires_at - now()) FROM scheduler_leases "
                           "WHERE name = 'scheduler'").fetchone()
    if row is None or float(row[1]) <= 0:
        return None
    return int(row[0].split(":")[-2]), float(row[1])


def wait_for_leader(conninfo: str, timeout: float, other_than: int | None = None) -> tuple[int, float]:
    """(pid of the leader, time.time() it was first seen), polling every 50 ms."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = lease_holder(conninfo)
        if held is not None and held[0] != other_than:
            return held[0], time.time()
        time.sleep(0.05)
    raise TimeoutError(f"no scheduler leader (other than {other_than}) within {timeout} s")


@dataclass
class Firing:
    sweep: str
    slot: int  # the interval it ran for: floor(start / interval)
    pid: int
    started: float  # time.time()


def firings(schedulers: list[Proc], intervals: dict[str, float]) -> list[Firing]:
    """Every sweep run, read from the schedulers' JSON log lines ("sweep NAME: N rows in S s")."""
    found = []
    for proc in schedulers:
        for line in proc.log.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            name = record.get("sweep") if isinstance(record, dict) else None
            if name not in intervals or "rows" not in record:
                continue
            ended = _epoch(record["time"])
            started = ended - float(record.get("seconds") or 0)
            found.append(Firing(name, math.floor(started / intervals[name]), proc.pid, started))
    return sorted(found, key=lambda f: f.started)


def _epoch(stamp: str) -> float:
    """The log's asctime ("2026-12-02 15:44:43,123", local time) as seconds since the epoch."""
    whole, _, millis = stamp.partition(",")
    return time.mktime(time.strptime(whole, "%Y-%m-%d %H:%M:%S")) + int(millis or 0) / 1000


def doubled(found: list[Firing]) -> list[tuple[str, int, list[int]]]:
    """(sweep, slot, pids) for every interval fired by more than one process, or twice."""
    by_slot: dict[tuple[str, int], list[int]] = defaultdict(list)
    for firing in found:
        by_slot[(firing.sweep, firing.slot)].append(firing.pid)
    return [(sweep, slot, pids) for (sweep, slot), pids in by_slot.items() if len(pids) > 1]


def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass
class Checkouts:
    """Checkouts sent with an Idempotency-Key each and retried with the same key until one answers 201:
    `answered` maps cart id -> order id of each 201 (`replies` -> its body), `tries` counts the calls per cart."""

    answered: dict[str, int] = field(default_factory=dict)
    replies: dict[str, dict] = field(default_factory=dict)
    replayed: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    tries: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failures: list[str] = field(default_factory=list)

    def place(self, urls: list[str], cart_id: str, session: requests.Session, attempts: int = 40,
              payment_method: str = "pay_at_store") -> int | None:
        """Check `cart_id` out through `urls` in turn (the next one after a failure) until a 201."""
        key = f"cluster-{cart_id}"
        for n in range(attempts):
            url = urls[n % len(urls)]
            self.tries[cart_id] += 1
            try:
                resp = session.post(f"{url}/api/v1/carts/{cart_id}/checkout", json={"payment_method": payment_method},
                                    headers={"Idempotency-Key": key}, timeout=30)
            except requests.RequestException:
                time.sleep(0.2)
                continue
            if resp.status_code == 201:
                order_id = resp.json()["order"]["id"]
                if cart_id in self.answered:
                    self.replayed[cart_id].append(order_id)
                else:
                    self.answered[cart_id], self.replies[cart_id] = order_id, resp.json()
                return order_id
            if resp.status_code not in (409, 502, 503, 504):  # 409: the first try still holds the key
                self.failures.append(f"{cart_id}: {resp.status_code} {resp.text[:200]}")
                return None
            time.sleep(0.2)
        self.failures.append(f"{cart_id}: no 201 after {attempts} tries")
        return None


def orders_by_cart(conninfo: str, cart_ids: list[str]) -> dict[str, list[int]]:
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute("SELECT cart_id, id FROM orders WHERE cart_id = ANY(%s) ORDER BY id", (cart_ids,)).fetchall()
    found: dict[str, list[int]] = defaultdict(list)
    for cart_id, order_id in rows:
        found[cart_id].append(order_id)
    return found


def guest_carts(store_id: int, sku: str, count: int, tag: str = "cluster") -> list[str]:
    """`count` guest carts at the store with one unit of `sku` and an email, ready to check out, made
    through the services in the current app context (the caller commits)."""
    from shop.accounts.actors import Actor
    from shop.carts import adds, service

    actor, ids = Actor("guest", None, "web"), []
    for n in range(count):
        cart, _ = service.open_cart(actor, store_id)
        adds.add_line(cart.id, sku, 1, actor)
        cart.email = f"{tag}-{n}@example.com"
        ids.append(cart.id)
    return ids
