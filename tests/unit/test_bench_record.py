"""`make bench` keeps each run as a record, and `python -m bench compare` puts two side by side."""

from __future__ import annotations

import json
import subprocess
import sys

from bench import paired, record
from bench.load import Result
from bench.paired import BASE, SCENARIO, Slice
from tests.support.gunicorn import ROOT


def run(tmp_path, name, baseline_rps, scenario_rps, monkeypatch, package_version="1.0"):
    monkeypatch.setattr(record, "machine", lambda conninfo: {"cpu_count": 2, "machine": "x86_64", "platform": "p",
                                                             "python": "3.11.7", "postgres": "15.4",
                                                             "load_average_at_end": [1.0, 1.0, 1.0]})
    monkeypatch.setattr(record, "packages", lambda: {"flask": "3.1.3", "sqlalchemy": package_version})
    pairs = [(Slice(BASE, baseline_rps * 2.5, 2.5, 0.25, int(baseline_rps * 2.5), 0, [10.0, 12.0]),
              Slice(SCENARIO, scenario_rps * 2.5, 2.5, 0.5, int(scenario_rps * 2.5), 1, [50.0, 70.0, 90.0]))] * 2
    results = [paired.summarise("checkout, pay at store (POST .../checkout)", pairs),
               Result("outbox: deliver_due", 40, 0, 2.0, [1.0, 2.0])]  # in-process: no baseline beside it
    built = record.build(results, baseline_rps, {"threads": 8}, "unused")
    return record.write(built, tmp_path / name)


def test_a_run_is_recorded_with_its_machine_versions_and_commit(tmp_path, monkeypatch):
    path = run(tmp_path, "a.json", 100.0, 20.0, monkeypatch)
    saved = json.loads(path.read_text())
    assert saved["commit"]["sha"] == subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                                    text=True).stdout.strip()
    assert saved["machine"]["postgres"] == "15.4" and saved["packages"]["flask"] == "3.1.3"
    checkout, mails = saved["results"]
    assert (checkout["rps"], checkout["ratio"], checkout["errors"], checkout["p50_ms"]) == (20.0, 0.2, 2, 70.0)
    assert checkout["pair_ratios"] == [0.2, 0.2] and checkout["baseline_rps"] == 100.0
    assert "ratio" not in mails and mails["rps"] == 20.0
    monkeypatch.setattr(record, "RESULTS", tmp_path / "results")
    assert record.write(saved) == tmp_path / "results" / f"{saved['commit']['short']}.json"  # by default


def test_compare_prints_both_ratios_and_their_change(tmp_path, monkeypatch):
    a = run(tmp_path, "a.json", 100.0, 20.0, monkeypatch)
    b = run(tmp_path, "b.json", 50.0, 15.0, monkeypatch, package_version="2.0")  # slower machine, better ratio
    out = subprocess.run([sys.executable, "-m", "bench", "compare", str(a), str(b)], cwd=ROOT, capture_output=True,
                         text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, check=True).stdout
    [line] = [row for row in out.splitlines() if row.startswith("checkout") and "B/A" not in row]
    assert line.split()[-5:] == ["20.0", "20%", "15.0", "30%", "1.50"]
    assert "sqlalchemy 1.0 -> 2.0" in out
    [cpu] = [row for row in out.splitlines() if row.startswith("checkout") and "B/A" in row]
    # CPU per request: 1 s over 100 requests in A, over 74 in B (whose scenario side was slower)
    assert cpu.split()[-10:] == ["A", "10.00", "/", "1.00", "B", "13.51", "/", "2.00", "B/A", "1.35"]
