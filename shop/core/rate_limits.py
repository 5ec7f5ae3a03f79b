"""Abuse limits: one way to rate-limit an operation (429 with Retry-After), shared by every worker.

Each limit is a setting (docs/configuration.md) read per request, counted per caller (the
signed-in user, else the client address) or by a key the operation names. Counters live in
RATELIMIT_STORAGE_URI: Redis, so every gunicorn worker and node counts together. A memory store
counts per process, which multiplies every limit by the number of workers: the app says so in its
log at start, and `make run` picks Redis when one answers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from flask import Flask, Response, current_app
from flask_limiter.util import get_remote_address
from limits.storage import MemoryStorage

from shop.accounts import auth
from shop.core.errors import DomainError
from shop.core.extensions import limiter

log = logging.getLogger(__name__)


class SweptMemoryStorage(MemoryStorage):
    """limits' memory store (`memory://`, registered in its place), sweeping expired counters inline
    at most once a SWEEP_SECONDS instead of starting a thread for it.

    limits starts a threading.Timer (10 ms) on every count when the last one has ended, so at bench
    rates nearly every limited request created and ran a thread: ~0.45 ms of CPU (docs/performance.md).
    Counts are the same: every read drops an expired counter itself and a moving window compares
    times; the sweep only frees memory. Overrides a private method of limits (pinned in
    constraints.txt; tests/unit/test_rate_limit_storage.py fails if it is renamed)."""

    STORAGE_SCHEME = ["memory"]
    SWEEP_SECONDS = 1.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.swept = time.monotonic()

    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now - self.swept >= self.SWEEP_SECONDS:
            self.swept = now
            self._MemoryStorage__expire_events()


def caller_key() -> str:
    """The signed-in user (wherever they send from), else the client address."""
    try:
        caller = auth.current_caller()
    except DomainError:  # a dead token: the view answers 401, the address is counted meanwhile
        caller = None
    return f"user:{caller.id}" if caller else f"address:{get_remote_address()}"


def refused(response: Response) -> bool:
    """Count only refusals (a wrong code, a bad signature): honest traffic is never slowed down."""
    return response.status_code >= 400


def limit(setting: str, *, key: Callable[[], str] = caller_key, failures_only: bool = False,
          methods: list[str] | None = None):
    """The decorator (for a MethodView's `decorators`) applying the limit named by `setting`."""
    return limiter.limit(lambda: current_app.config[setting], key_func=key, methods=methods,
                         deduct_when=refused if failures_only else None, scope=setting.lower())


def describe_storage(app: Flask) -> None:
    """Say in the log where the counters live; a memory store outside development is a warning."""
    uri = app.config.get("RATELIMIT_STORAGE_URI", "memory://")
    if uri.startswith("memory://"):
        level = logging.INFO if app.config.get("OMNISHOP_ENV") == "development" or app.testing else logging.WARNING
        log.log(level, "rate limits: counted in memory, per worker process: with N workers each limit is N times "
                "looser. Set RATELIMIT_STORAGE_URI=redis://HOST:6379/0 to share them.")
        return
    scheme = uri.split("://", 1)[0]
    log.info("rate limits: shared through %s storage (RATELIMIT_STORAGE_URI)", scheme)


def _app_wide_limits() -> bool:
    """Whether any limit is set beyond the operations' own: flask-limiter's default, application,
    meta, blueprint or fallback limits (none is, unless a RATELIMIT_* setting adds one)."""
    manager = limiter.limit_manager
    return bool(manager._default_limits or manager._application_limits or manager._blueprint_limits
                or limiter._meta_limits or limiter._in_memory_fallback)


def _check_app_wide_limits() -> None:
    """flask-limiter's check before every request, only when there is an app-wide limit to check.

    An operation's own limit (`limit` above) is checked by its decorator; this hook only adds the
    app-wide ones, and with none it cost 70-140 us of every request doing nothing (docs/performance.md).
    """
    if _app_wide_limits():
        limiter._check_request_limit()


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)  # Redis down: limit per worker, not never
    limiter.init_app(app)
    hooks = app.before_request_funcs[None]
    hooks[hooks.index(limiter._check_request_limit)] = _check_app_wide_limits
    describe_storage(app)
