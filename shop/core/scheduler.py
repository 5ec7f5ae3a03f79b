"""The scheduler: sweeps registered by their packages, fired on a timer by the one process holding the lease.

- `register_sweep(app, name, seconds, fn)`: a package says what runs and how often. `fn()` owns its
  transactions (it commits per batch; `one_transaction` wraps one that never commits) and returns
  the rows it handled, or counts by outcome (`{"sent": 3, "held": 1}`). The scheduler imports no
  package: it runs what was registered.
- `flask scheduler run`: every process keeps its own APScheduler (in-memory job store, UTC). The
  main thread takes or renews the lease (shop.core.leases) every SCHEDULER_RENEW_SECONDS, and a
  job runs its sweep only while this process holds the lease; followers keep trying and take over
  when it lapses, or at once when the leader stops cleanly (SIGTERM, Ctrl-C) and releases it.
  Two schedulers never share a job store: each would fire every job, and one can stop the other.
- Every process fires a sweep at the same instants (multiples of its interval since the epoch),
  and a new leader leaves alone the instant that began before it led: a takeover never runs a
  sweep twice in one interval. A run still going when its next instant comes skips that instant.
- `flask scheduler run --once`: every sweep once, in registration order, without the lease (each
  sweep is safe to run beside a leader); exit status 1 if one failed.

Nothing here starts at import or in create_app: gunicorn workers would each run a scheduler.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import click
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask, current_app
from flask.cli import AppGroup

from shop.core import leases, metrics
from shop.core.transactions import transaction

log = logging.getLogger(__name__)

SWEEPS = "omnishop.sweeps"  # app.extensions key: {name: (seconds, fn)}
LEASE = "scheduler"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

Sweep = Callable[[], int | Mapping[str, int]]


def register_sweep(app: Flask, name: str, seconds: float, fn: Sweep) -> None:
    """Run `fn` every `seconds` on the leader (and once under `--once`)."""
    if not seconds or seconds <= 0:
        raise ValueError(f"sweep {name!r}: the interval must be a positive number of seconds, not {seconds!r}")
    registry = app.extensions.setdefault(SWEEPS, {})
    if name in registry:
        raise ValueError(f"sweep {name!r} is registered twice")
    registry[name] = (seconds, fn)


def registered(app: Flask) -> dict[str, tuple[float, Sweep]]:
    return app.extensions.get(SWEEPS, {})


def one_transaction(fn: Sweep) -> Sweep:
    """For a sweep that never commits itself: its whole run is one transaction."""

    @functools.wraps(fn)
    def run() -> int:
        with transaction():
            return fn()

    return run


@dataclass(frozen=True)
class Outcome:
    name: str
    rows: int | None  # None: it failed
    seconds: float
    error: str | None = None
    counts: dict[str, int] | None = None  # when the sweep told its rows by outcome

    def __str__(self) -> str:
        if self.error is not None:
            return f"FAILED {self.name}: {self.error}"
        counts = "".join(f" {key}={value}" for key, value in (self.counts or {}).items())
        return f"{self.rows:6d} {self.name} ({self.seconds:.2f} s){counts}"


def run_sweep(app: Flask, name: str, fn: Sweep) -> Outcome:
    """One run in its own app context (so its own session); a failure is logged and returned, not raised."""
    started = time.monotonic()
    with app.app_context():
        try:
            result = fn()
        except Exception as exc:
            seconds = time.monotonic() - started
            log.exception("sweep %s failed after %.3f s", name, seconds,
                          extra={"sweep": name, "seconds": round(seconds, 3)})
            metrics.sweep_ran(name, None, seconds)
            return Outcome(name, None, seconds, f"{type(exc).__name__}: {exc}")
    seconds = time.monotonic() - started
    counts = dict(result) if isinstance(result, Mapping) else None
    rows = sum(counts.values()) if counts is not None else int(result or 0)
    log.info("sweep %s: %s rows in %.3f s", name, rows, seconds,
             extra={"sweep": name, "rows": rows, "seconds": round(seconds, 3), "counts": counts})
    metrics.sweep_ran(name, rows, seconds)
    return Outcome(name, rows, seconds, counts=counts)


class Leader:
    """This process's hold on the lease: renewed by the main thread, read by the jobs.

    It counts itself leader until `lease - renew` seconds (monotonic) after the start of its last
    successful renewal: a follower can take the lease only `lease` seconds after it, and the
    difference covers clock skew between hosts. A renewal that errs changes nothing; the hold
    then runs out on its own."""

    def __init__(self, app: Flask, lease_seconds: float, renew_seconds: float) -> None:
        self.app, self.lease_seconds, self.renew_seconds = app, lease_seconds, renew_seconds
        self.holder = leases.holder_id()
        self.since: float | None = None  # wall-clock time this stint as leader began
        self._until = 0.0  # time.monotonic() until which this process leads

    def leading(self) -> bool:
        return time.monotonic() < self._until

    def may_fire(self, seconds: float) -> bool:
        """Lead, and have led since the start of this interval (the previous leader may have run it)."""
        if not self.leading() or self.since is None:
            return False
        return math.floor(time.time() / seconds) * seconds >= self.since

    def renew(self) -> None:
        started, wall, was = time.monotonic(), time.time(), self.leading()
        try:
            with self.app.app_context(), transaction():
                expires = leases.acquire(LEASE, self.holder, self.lease_seconds)
        except Exception:
            log.exception("the scheduler lease could not be renewed (%s)", self.holder)
            return
        if expires is None:
            self._until, self.since = 0.0, None
            metrics.leading(False)
            if was:
                log.warning("lost the scheduler lease (%s): another process leads", self.holder)
            return
        if not was:
            self.since = wall
            log.info("took the scheduler lease (%s): this process runs the sweeps", self.holder)
        self._until = started + self.lease_seconds - self.renew_seconds
        metrics.leading(True)

    def resign(self) -> None:
        """Release the lease (after the last run ended) so a follower takes over without waiting."""
        self._until, self.since = 0.0, None
        metrics.leading(False)
        try:
            with self.app.app_context(), transaction():
                if leases.release(LEASE, self.holder):
                    log.info("released the scheduler lease (%s)", self.holder)
        except Exception:
            log.exception("the scheduler lease could not be released; it lapses on its own")


def serve(app: Flask, stop: threading.Event) -> None:
    """Renew the lease and fire the sweeps until `stop` is set; then finish running sweeps and resign."""
    lease_seconds, renew_seconds = app.config["SCHEDULER_LEASE_SECONDS"], app.config["SCHEDULER_RENEW_SECONDS"]
    sweeps = registered(app)
    leader = Leader(app, lease_seconds, renew_seconds)

    def fire(name: str, seconds: float, fn: Sweep) -> None:
        if leader.may_fire(seconds):
            run_sweep(app, name, fn)

    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # its per-job lines fire on followers too
    scheduler = BackgroundScheduler(
        timezone=dt.UTC,
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(max(1, len(sweeps)))},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    for name, (seconds, fn) in sweeps.items():
        scheduler.add_job(fire, IntervalTrigger(seconds=seconds, start_date=EPOCH, timezone=dt.UTC),
                          args=(name, seconds, fn), id=name, name=name)
    log.info("scheduler %s started: %s", leader.holder,
             ", ".join(f"{name} every {seconds} s" for name, (seconds, _) in sweeps.items()) or "no sweeps")
    leader.renew()
    scheduler.start()
    try:
        while not stop.wait(renew_seconds):
            leader.renew()
    finally:
        scheduler.shutdown(wait=True)
        leader.resign()
        log.info("scheduler %s stopped", leader.holder)


scheduler_cli = AppGroup("scheduler", help="Run the sweeps on a timer (one leader at a time) or once.")


def _check_settings(config) -> None:
    lease_seconds, renew_seconds = config["SCHEDULER_LEASE_SECONDS"], config["SCHEDULER_RENEW_SECONDS"]
    if renew_seconds <= 0 or lease_seconds < 2 * renew_seconds:
        raise click.UsageError(
            f"SCHEDULER_LEASE_SECONDS ({lease_seconds}) must be at least twice SCHEDULER_RENEW_SECONDS "
            f"({renew_seconds}), which must be positive.")


@scheduler_cli.command("run")
@click.option("--once", is_flag=True, help="Run every sweep once, report, and exit (1 if one failed).")
def run_command(once: bool) -> None:
    """Fire the sweeps on their intervals while this process holds the lease (Ctrl-C or SIGTERM stops)."""
    app = current_app._get_current_object()
    if once:
        outcomes = [run_sweep(app, name, fn) for name, (_, fn) in registered(app).items()]
        for outcome in outcomes:
            click.echo(str(outcome), err=outcome.error is not None)
        failed = [o.name for o in outcomes if o.error is not None]
        if failed:
            raise click.ClickException(f"{len(failed)} sweep(s) failed: {', '.join(failed)}.")
        return
    _check_settings(app.config)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        serve(app, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        metrics.process_exiting()


@scheduler_cli.command("status")
def status_command() -> None:
    """The sweeps and their intervals, and which process leads now."""
    app = current_app._get_current_object()
    for name, (seconds, _) in registered(app).items():
        click.echo(f"{name:28} every {seconds} s")
    lease = leases.current(LEASE)
    if lease is None:
        click.echo("leader: none (no scheduler runs, or its lease lapsed)")
    else:
        click.echo(f"leader: {lease.holder} since {lease.acquired_at.isoformat()}, "
                   f"lease until {lease.expires_at.isoformat()}")
