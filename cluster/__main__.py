"""`python -m cluster [--soak SECONDS] [--rate VISITS_PER_SECOND]`: build the cluster, run the checks
(and the soak), print a table of what was checked with its figures, tear everything down. Exit 1 if a
check failed. Needs PostgreSQL (CLUSTER_DATABASE_URL) and redis-server; installs nginx if missing."""

from __future__ import annotations

import argparse
import sys
import time

from cluster.checks import CHECKS, DESTRUCTIVE, Check
from cluster.world import LEASE, RENEW, WORKERS, Cluster


def run(check, cluster: Cluster) -> Check:
    started = time.monotonic()
    try:
        result = check(cluster)
    except Exception as exc:  # a check that crashes fails, and the others still run
        result = Check(check.__name__, failures=[f"crashed: {type(exc).__name__}: {exc}"])
    result.figures.append(f"{time.monotonic() - started:.0f} s")
    print(f"{'PASS' if result.passed else 'FAIL'} {result.name}", flush=True)
    return result


def table(results: list[Check]) -> str:
    width = max(len(r.name) for r in results)
    lines = [f"{'check':{width}}  result  figures", "-" * (width + 60)]
    for r in results:
        lines.append(f"{r.name:{width}}  {'PASS' if r.passed else 'FAIL':6}  {'; '.join(r.figures)}")
        lines += [f"{'':{width}}          - {failure}" for failure in r.failures]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m cluster")
    parser.add_argument("--soak", type=float, default=0, help="seconds of mixed traffic (0: no soak)")
    parser.add_argument("--rate", type=float, default=3.0, help="soak visits started per second")
    args = parser.parse_args(argv)
    results: list[Check] = []
    with Cluster() as cluster:
        print(f"cluster up: nginx {cluster.lb} -> {', '.join(n.url for n in cluster.nodes)} "
              f"(gunicorn x{WORKERS} each); 2 schedulers (lease {LEASE} s, renew {RENEW} s); "
              f"database {cluster.db_name}; Redis {cluster.redis_url}; logs in {cluster.workdir}", flush=True)
        results += [run(check, cluster) for check in CHECKS]
        if args.soak > 0:
            from cluster.soak import soak

            results.append(run(lambda c: soak(c, args.soak, args.rate), cluster))
        results += [run(check, cluster) for check in DESTRUCTIVE]
    print(table(results))
    failed = sum(not r.passed for r in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
