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


def _mirror(latest: dict[str, tuple[str, list]]):
    """An index like this network's pypi.org: the project JSON (latest release) answers, the
    per-release JSON pip-audit reads is a 404."""
    def fetch(url: str):
        name, _, rest = url.removeprefix(audit.PYPI + "/").partition("/")
        if rest != "json" or name not in latest:
            return 404, None
        version, vulns = latest[name]
        return 200, {"info": {"version": version}, "vulnerabilities": vulns}
    return fetch


def _not_found(name: str) -> dict:
    return {"name": name, "skip_reason": f"Dependency not found on PyPI and could not be audited: {name}"}


def test_behind_a_mirror_without_per_release_json_a_pin_at_the_latest_release_is_still_audited():
    report = {"dependencies": [_not_found("Flask"), _not_found("boolean-py"), _not_found("werkzeug"),
                               _not_found("gone")]}
    pins = {"flask": "3.1.3", "boolean-py": "5.0", "werkzeug": "3.1.8", "gone": "1.0"}
    fetch = _mirror({"Flask": ("3.1.3", []), "boolean-py": ("5.0", []), "werkzeug": ("3.1.9", [])})
    filled = audit.fill_in(report, pins, fetch)
    code, message = audit.judge(filled, "a mirror")
    assert code == 0
    assert message.startswith("pip-audit: no known vulnerabilities in 2 packages; 2 NOT AUDITED (a mirror)")
    assert "werkzeug 3.1.8: the index serves only the latest release's data (3.1.9); pinned 3.1.8" in message
    assert "gone 1.0: neither" in message


def test_a_vulnerability_found_in_the_project_json_fails_the_build():
    vuln = {"id": "PYSEC-2099-1", "fixed_in": ["3.1.4"], "aliases": ["CVE-2099-1"], "withdrawn": None}
    withdrawn = {"id": "PYSEC-2099-2", "fixed_in": [], "withdrawn": "2099-01-01T00:00:00Z"}
    filled = audit.fill_in({"dependencies": [_not_found("flask")]}, {"flask": "3.1.3"},
                           _mirror({"flask": ("3.1.3", [vuln, withdrawn])}))
    code, message = audit.judge(filled)
    assert code == 1 and "flask 3.1.3: PYSEC-2099-1 (fixed in 3.1.4)" in message and "PYSEC-2099-2" not in message


def test_pins_are_read_by_their_canonical_names():
    pins = audit.pinned()
    assert pins["boolean-py"] and pins["flask"] and pins["typing-extensions"]
