"""`make bench` keeps each run as a record, and `python -m bench compare` puts two side by side."""

from __future__ import annotations

import json
import subprocess
import sys

from bench import record
from bench.load import Result
from tests.support.gunicorn import ROOT


def run(tmp_path, name, baseline_rps, scenario_rps, monkeypatch, package_version="1.0"):
    monkeypatch.setattr(record, "machine", lambda conninfo: {"cpu_count": 2, "machine": "x86_64", "platform": "p",
                                                             "python": "3.11.7", "postgres": "15.4",
                                                             "load_average_at_end": [1.0, 1.0, 1.0]})
    monkeypatch.setattr(record, "packages", lambda: {"flask": "3.1.3", "sqlalchemy": package_version})
    results = [Result("baseline, first", int(baseline_rps * 5), 0, 5.0, [10.0, 12.0]),
               Result("checkout, pay at store (POST .../checkout)", int(scenario_rps * 5), 1, 5.0, [50.0, 70.0, 90.0]),
               Result("baseline, last", int(baseline_rps * 5), 0, 5.0, [10.0, 11.0])]
    built = record.build(results, baseline_rps, {"threads": 8}, "unused")
    return record.write(built, tmp_path / name)


def test_a_run_is_recorded_with_its_machine_versions_and_commit(tmp_path, monkeypatch):
    path = run(tmp_path, "a.json", 100.0, 20.0, monkeypatch)
    saved = json.loads(path.read_text())
    assert saved["commit"]["sha"] == subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                                    text=True).stdout.strip()
    assert saved["machine"]["postgres"] == "15.4" and saved["packages"]["flask"] == "3.1.3"
    checkout = saved["results"][1]
    assert (checkout["rps"], checkout["ratio"], checkout["errors"], checkout["p50_ms"]) == (20.0, 0.2, 1, 70.0)
    monkeypatch.setattr(record, "RESULTS", tmp_path / "results")
    assert record.write(saved) == tmp_path / "results" / f"{saved['commit']['short']}.json"  # by default


def test_compare_prints_both_ratios_and_their_change(tmp_path, monkeypatch):
    a = run(tmp_path, "a.json", 100.0, 20.0, monkeypatch)
    b = run(tmp_path, "b.json", 50.0, 15.0, monkeypatch, package_version="2.0")  # slower machine, better ratio
    out = subprocess.run([sys.executable, "-m", "bench", "compare", str(a), str(b)], cwd=ROOT, capture_output=True,
                         text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, check=True).stdout
    [line] = [row for row in out.splitlines() if row.startswith("checkout")]
    assert line.split()[-5:] == ["20.0", "20%", "15.0", "30%", "1.50"]
    assert "sqlalchemy 1.0 -> 2.0" in out
