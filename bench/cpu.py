"""CPU time used by the bench's servers and their database backends, read from Linux's /proc.

A request's CPU cost does not grow when the machine is busy (its wall time does), so CPU per request
is a figure the other engineers' load hardly moves. Counted: each gunicorn master and its workers, and
every PostgreSQL backend connected to the bench's database (listed anew at each reading: a pool that
opens a connection mid-slice is counted from its start). Not counted: the client threads, PostgreSQL's
background processes. /proc/<pid>/task/*/schedstat gives nanoseconds on the CPU per thread.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg


def _task_ns(pid: int) -> int:
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(OSError, ValueError, IndexError):  # the thread ended since the listing
            total += int(stat.read_text().split()[0])
    return total


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


Snapshot = dict[int, int]  # pid: nanoseconds on the CPU so far


def used(before: Snapshot, after: Snapshot) -> float:
    """CPU seconds between two snapshots: a process that appeared in between counts from its start."""
    return sum(ns - before.get(pid, 0) for pid, ns in after.items()) / 1e9


@contextlib.contextmanager
def meter(masters: list[subprocess.Popen], admin_conninfo: str,
          database: str) -> Iterator[Callable[[], Snapshot] | None]:
    """A function taking a snapshot of the CPU used so far; None where /proc has no schedstat (not Linux)."""
    if not Path("/proc/self/schedstat").exists():
        yield None
        return
    with psycopg.connect(admin_conninfo, autocommit=True) as admin:  # its own backend: another database
        def snapshot() -> Snapshot:
            pids = [p for m in masters for p in (m.pid, *_children(m.pid))]
            pids += [row[0] for row in admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'",
                (database,))]
            return {pid: ns for pid in pids if (ns := _task_ns(pid))}  # 0: it ended meanwhile

        yield snapshot
