"""`python -m faults [NAME ...]`: run the fault scenarios (all, or those named), one PASS or FAIL
line each with its figures; exits non-zero if any failed. Needs PostgreSQL (FAULTS_DATABASE_URL,
default postgres@127.0.0.1:5432) and localstripe; builds and removes everything else itself."""

from __future__ import annotations

import sys
import time

from faults import order_scenarios  # noqa: F401  (registers the order and sweep scenarios)
from faults.scenarios import SCENARIOS, Result
from faults.world import World


def main(names: list[str]) -> int:
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        print(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
        return 2
    failed = 0
    with World() as world:
        print(f"app under gunicorn at {world.url}; log {world.log_path}", flush=True)
        for name in names or list(SCENARIOS):
            started = time.monotonic()
            try:
                result = SCENARIOS[name](world)
            except Exception as exc:  # a scenario that crashes is a failure, and the others still run
                result = Result(name, failures=[f"crashed: {type(exc).__name__}: {exc}"])
            broken = world.invariants()
            result.check(broken is None, f"stock invariants broken: {broken}")
            failed += not result.passed
            verdict = "PASS" if result.passed else "FAIL"
            print(f"{verdict} {name} ({time.monotonic() - started:.0f}s): {'; '.join(result.figures)}", flush=True)
            for failure in result.failures:
                print(f"     - {failure}", flush=True)
    print(f"{len(names or SCENARIOS) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
