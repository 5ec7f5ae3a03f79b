"""What each per-request hook costs, for `PROFILE_CPU=1 python -m bench.profile ...` (never in the app).

Wraps every before/after/teardown request hook, the session's open and save and the view functions of
an app in a timer, so one run prints how many microseconds of each request each of them took, beside
the request's wall-clock and CPU time. The wrappers add about a microsecond each; read the figures
against each other, not as absolutes.
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict

from flask import Flask

_HOOK_LISTS = ("before_request_funcs", "after_request_funcs", "teardown_request_funcs")


class HookTimes:
    """Seconds spent in each hook since `reset`, keyed by a readable name."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)

    def reset(self) -> None:
        self.spent.clear()

    def wrap(self, name: str, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            began = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[name] += time.perf_counter() - began
        return timed

    def table(self, requests: int, wall: float, cpu: float) -> str:
        lines = [f"per request: {wall / requests * 1e6:8.0f} us wall, {cpu / requests * 1e6:8.0f} us CPU "
                 f"(this process; PostgreSQL's own CPU is not in it)",
                 f"{'hook':60} {'us/request':>10}"]
        for name, seconds in sorted(self.spent.items(), key=lambda item: -item[1]):
            lines.append(f"{name:60} {seconds / requests * 1e6:10.1f}")
        return "\n".join(lines)


def _name(fn) -> str:
    inner = getattr(fn, "func", fn)  # functools.partial (flask-limiter's header hook)
    module = getattr(inner, "__module__", "?")
    return f"{module}.{getattr(inner, '__qualname__', repr(inner))}"


def instrument(app: Flask) -> HookTimes:
    """Time every request hook, the session interface and the views of `app` from now on."""
    times = HookTimes()
    for attribute in _HOOK_LISTS:
        kind = attribute.split("_")[0]
        for blueprint, funcs in getattr(app, attribute).items():
            scope = f"[{blueprint}] " if blueprint else ""
            funcs[:] = [times.wrap(f"{kind}: {scope}{_name(fn)}", fn) for fn in funcs]
    interface = app.session_interface
    interface.open_session = times.wrap("session: open", interface.open_session)
    interface.save_session = times.wrap("session: save", interface.save_session)
    for endpoint, view in list(app.view_functions.items()):
        app.view_functions[endpoint] = times.wrap(f"view: {endpoint}", view)
    return times
