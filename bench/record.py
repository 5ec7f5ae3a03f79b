"""A bench run as a record: its figures with the machine, versions and commit, as JSON; and two records compared.

`make bench` writes bench/results/<commit>.json (BENCH_RECORD=path to choose), so two commits, or
two runs of one, can be put side by side with `python -m bench compare A.json B.json`. Compare
ratios to the baseline, not requests per second: the baseline moves with the machine's load.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import math
import os
import platform
import subprocess
from pathlib import Path

import psycopg

from bench.load import Result
from bench.paired import Paired

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def commit() -> dict:
    sha = _git("rev-parse", "HEAD") or "unknown"
    return {"sha": sha, "short": sha[:12], "branch": _git("rev-parse", "--abbrev-ref", "HEAD"),
            "dirty": bool(_git("status", "--porcelain", "--untracked-files=no"))}


def machine(conninfo: str) -> dict:
    with psycopg.connect(conninfo) as conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0]
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpu_count": os.cpu_count(), "machine": platform.machine(), "platform": platform.platform(),
            "python": platform.python_version(), "postgres": postgres,
            "load_average_at_end": [round(x, 2) for x in load] if load else None}


def packages() -> dict[str, str]:
    return dict(sorted((d.metadata["Name"].lower(), d.version) for d in importlib.metadata.distributions()))


def _number(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 3)


def _row(r: Result) -> dict:
    row = {"name": r.name, "requests": r.requests, "errors": r.errors, "seconds": round(r.seconds, 3),
           "rps": round(r.rps, 3), "p50_ms": _number(r.pct(50)), "p99_ms": _number(r.pct(99))}
    if isinstance(r, Paired):  # measured beside the baseline (bench/paired.py); the outbox is not
        row.update({"baseline_rps": round(r.baseline.rps, 3), "ratio": round(r.ratio, 4),
                    "pair_ratios": [round(x, 4) for x in r.pair_ratios], "ratio_margin": _number(r.margin),
                    "cpu_ms": None if r.cpu_ms is None else round(r.cpu_ms, 3),
                    "baseline_cpu_ms": None if r.baseline_cpu_ms is None else round(r.baseline_cpu_ms, 3)})
    return row


def build(results: list[Result], baseline_rps: float, settings: dict, conninfo: str,
          races: list[list[tuple[float, int]]] | None = None) -> dict:
    """Format 2: each scenario's ratio is to the baseline alternated with it, its pairs' ratios beside it
    (format 1 had one baseline for the run, measured first and last)."""
    return {
        "format": 2,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "machine": machine(conninfo),
        "packages": packages(),
        "settings": settings,
        "baseline_rps": round(baseline_rps, 3),
        "results": [_row(r) for r in results],
        "races": [[{"ms": round(ms, 1), "status": status} for ms, status in rounds] for rounds in races or []],
    }


def write(record: dict, path: str | os.PathLike | None = None) -> Path:
    target = Path(path) if path else RESULTS / f"{record['commit']['short']}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(record, indent=2) + "\n")
    return target


def compare(a_path: str, b_path: str) -> str:
    """Each scenario's ratio to its own run's baseline in A and in B, and B's ratio over A's."""
    a, b = (json.loads(Path(p).read_text()) for p in (a_path, b_path))
    rows_a, rows_b = ({r["name"]: r for r in rec["results"]} for rec in (a, b))
    names = list(rows_a) + [n for n in rows_b if n not in rows_a]

    def label(rec: dict) -> str:
        c, m = rec["commit"], rec["machine"]
        return (f"{c['short']}{'+dirty' if c['dirty'] else ''} ({c['branch']}) {rec['date']}: "
                f"baseline {rec['baseline_rps']:.1f} req/s, {m['cpu_count']} cpus, Python {m['python']}, "
                f"PostgreSQL {m['postgres']}")

    head = f"{'scenario':46} {'A req/s':>9} {'A ratio':>8} {'B req/s':>9} {'B ratio':>8} {'B/A':>7}"
    lines = [f"A = {label(a)}", f"B = {label(b)}", head, "-" * len(head)]
    for name in names:
        ra, rb = rows_a.get(name, {}), rows_b.get(name, {})
        cells = [f"{r['rps']:9.1f} " + (f"{r['ratio']:8.0%}" if r.get("ratio") else f"{'-':>8}") if r
                 else f"{'-':>9} {'-':>8}" for r in (ra, rb)]
        change = f"{rb['ratio'] / ra['ratio']:7.2f}" if ra.get("ratio") and rb.get("ratio") else f"{'-':>7}"
        lines.append(f"{name[:46]:46} {cells[0]} {cells[1]} {change}")
    cpu = [(n, rows_a[n], rows_b[n]) for n in names
           if rows_a.get(n, {}).get("cpu_ms") and rows_b.get(n, {}).get("cpu_ms")]
    if cpu:
        lines.append("CPU ms per request (servers + database backends), scenario / baseline beside it:")
        lines += [f"{n[:46]:46} A {ra['cpu_ms']:6.2f} / {ra['baseline_cpu_ms']:5.2f}   "
                  f"B {rb['cpu_ms']:6.2f} / {rb['baseline_cpu_ms']:5.2f}   B/A {rb['cpu_ms'] / ra['cpu_ms']:5.2f}"
                  for n, ra, rb in cpu]
    changed = sorted(k for k in set(a["packages"]) | set(b["packages"])
                     if a["packages"].get(k) != b["packages"].get(k))
    if changed:
        lines.append("packages that differ: " + ", ".join(
            f"{k} {a['packages'].get(k, '-')} -> {b['packages'].get(k, '-')}" for k in changed))
    return "\n".join(lines)
