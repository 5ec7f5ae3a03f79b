"""`make audit` (scripts/audit.py): fails on a known vulnerability, says so when it could not audit."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("audit", ROOT / "scripts" / "audit.py")
audit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit)


def test_a_known_vulnerability_fails_the_build_and_names_the_fix():
    code, message = audit.judge({"dependencies": [
        {"name": "flask", "version": "3.1.3", "vulns": []},
        {"name": "werkzeug", "version": "3.1.9", "vulns": [{"id": "GHSA-xxxx", "fix_versions": ["3.1.10"]}]}]})
    assert code == 1 and "werkzeug 3.1.9: GHSA-xxxx (fixed in 3.1.10)" in message


def test_an_unreachable_database_is_said_and_does_not_fail():
    skipped = {"skip_reason": "Dependency not found on PyPI and could not be audited"}
    code, message = audit.judge({"dependencies": [{"name": n, **skipped} for n in ("flask", "werkzeug")]})
    assert code == 0 and "NOT AUDITED" in message


def test_a_clean_audit_passes():
    code, message = audit.judge({"dependencies": [{"name": "flask", "version": "3.1.3", "vulns": []}]})
    assert code == 0 and "no known vulnerabilities in 1" in message


def test_make_test_runs_the_audit_and_pip_audit_is_pinned():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test:.*\baudit\b", makefile, re.M)
    assert "pip-audit==" in (ROOT / "pyproject.toml").read_text()
    assert "pip-audit==" in (ROOT / "constraints.txt").read_text()
