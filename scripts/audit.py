"""`make audit`: pip-audit over the pinned dependencies (constraints.txt), safe offline.

Fails the build on a known vulnerability. pip-audit reads PyPI's per-release JSON
(`https://pypi.org/pypi/<name>/<version>/json`, its "vulnerabilities"); a 404 there makes it skip the
package as "not found" and call the run clean. A PyPI mirror may serve the index and the project JSON
(`/pypi/<name>/json`, about the latest release) but not the per-release JSON: then a package pinned at
its latest release is audited from the project JSON's "vulnerabilities" (the same data, for that
release), and every other one is named as NOT AUDITED with the reason. When nothing can be audited
(no network, no JSON API) it says so plainly and does not fail: an audit that could not run is not a
pass, and the message says it was not one.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYPI = "https://pypi.org/pypi"
UNREACHABLE = ("ConnectionError", "NameResolutionError", "Max retries exceeded", "timed out", "ServiceError")
NOT_FOUND = "not found on PyPI"
TIMEOUT = 15

Fetch = Callable[[str], tuple[int, dict | None]]  # url -> (HTTP status, JSON body or None); 0: no answer


def fetch_json(url: str) -> tuple[int, dict | None]:
    import requests  # pip-audit's own dependency, pinned in constraints.txt

    try:
        resp = requests.get(url, timeout=TIMEOUT)
    except requests.RequestException:
        return 0, None
    try:
        return resp.status_code, resp.json() if resp.ok else None
    except ValueError:
        return resp.status_code, None


def from_latest(name: str, version: str, fetch: Fetch) -> dict:
    """A dependency pip-audit skipped, audited from the project JSON when the pin is its latest release."""
    status, body = fetch(f"{PYPI}/{name}/json")
    if status != 200 or not body or "vulnerabilities" not in body:
        return {"name": name, "version": version,
                "skip_reason": f"neither {PYPI}/{name}/{version}/json nor {PYPI}/{name}/json answered ({status})"}
    latest = body.get("info", {}).get("version")
    if latest != version:
        return {"name": name, "version": version,
                "skip_reason": f"the index serves only the latest release's data ({latest}); pinned {version}"}
    vulns = [{"id": v.get("id"), "fix_versions": v.get("fixed_in") or [], "aliases": v.get("aliases") or []}
             for v in body["vulnerabilities"] if not v.get("withdrawn")]
    return {"name": name, "version": version, "vulns": vulns, "source": "project JSON (latest release)"}


def canonical(name: str) -> str:
    """A project name as PyPI compares them (PEP 503): "boolean.py" and "boolean-py" are one."""
    return re.sub(r"[-_.]+", "-", name).lower()


def fill_in(report: dict, pins: dict[str, str], fetch: Fetch) -> dict:
    """The report with every package pip-audit called "not found" audited from the project JSON if it can be."""
    dependencies = []
    for dep in report.get("dependencies", []):
        version = dep.get("version") or pins.get(canonical(dep["name"]))
        if NOT_FOUND in dep.get("skip_reason", "") and version:
            dep = from_latest(dep["name"], version, fetch)
        dependencies.append(dep)
    return {**report, "dependencies": dependencies}


def diagnose(pins: dict[str, str], fetch: Fetch) -> str:
    """Why pip-audit's database did not answer, in one line: which URL answered what."""
    name, version = next(iter(sorted(pins.items())), ("flask", "0"))
    host = urlsplit(PYPI).hostname or ""
    try:
        address = socket.gethostbyname(host)
    except OSError:
        return f"{host} does not resolve here (no network or no DNS)"
    release, _ = fetch(f"{PYPI}/{name}/{version}/json")
    project, _ = fetch(f"{PYPI}/{name}/json")
    if release == 404 and project == 200:
        return (f"{host} resolves to {address} and answers {PYPI}/{name}/json (200) but not the per-release "
                f"{PYPI}/{name}/{version}/json pip-audit reads (404): a mirror without PyPI's per-release JSON API")
    return f"{host} resolves to {address}; {PYPI}/{name}/{version}/json answered {release or 'nothing'}"


def judge(report: dict, why: str = "") -> tuple[int, str]:
    """(exit code, message) for a pip-audit JSON report."""
    dependencies = report.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if "skip_reason" in d]
    audited = len(dependencies) - len(skipped)
    because = f" ({why})" if why else ""
    if vulnerable:
        lines = [f"  {d['name']} {d.get('version', '?')}: " + ", ".join(
            f"{v['id']} (fixed in {', '.join(v.get('fix_versions') or ['no release yet'])})" for v in d["vulns"])
            for d in vulnerable]
        return 1, "pip-audit: known vulnerabilities in pinned dependencies:\n" + "\n".join(lines)
    if dependencies and not audited:
        return 0, (f"pip-audit: the vulnerability database could not be reached{because}: NOT AUDITED "
                   f"({len(skipped)} packages), not failing the build. Run `make audit` where PyPI's JSON API answers.")
    if skipped:
        return 0, (f"pip-audit: no known vulnerabilities in {audited} packages; {len(skipped)} NOT AUDITED"
                   f"{because}:\n" + "\n".join(f"  {d['name']} {d.get('version', '')}: {d['skip_reason']}"
                                               for d in skipped))
    return 0, f"pip-audit: no known vulnerabilities in {len(dependencies)} pinned packages."


def pinned() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        name, sep, version = line.split("#", 1)[0].strip().partition("==")
        if sep:
            pins[canonical(name.strip())] = version.strip()
    return pins


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "audit.json"
        run = subprocess.run(  # noqa: S603 - our own tool, fixed arguments
            [str(Path(sys.executable).parent / "pip-audit"), "-r", str(ROOT / "constraints.txt"), "--no-deps",
             "--disable-pip", "--progress-spinner", "off", "--format", "json", "-o", str(out)],
            capture_output=True, text=True, timeout=600)
        if not out.exists() or not out.read_text().strip():
            if any(marker in run.stderr for marker in UNREACHABLE):
                print(f"pip-audit: the vulnerability database could not be reached ({diagnose(pinned(), fetch_json)}):"
                      " NOT AUDITED, not failing the build.")
                return 0
            print(run.stderr, file=sys.stderr)
            print("pip-audit did not run: see above.", file=sys.stderr)
            return run.returncode or 1
        report = json.loads(out.read_text())
    why = ""
    if any(NOT_FOUND in d.get("skip_reason", "") for d in report.get("dependencies", [])):
        pins = pinned()
        why = diagnose(pins, fetch_json)
        report = fill_in(report, pins, fetch_json)
    code, message = judge(report, why)
    print(message)
    return code


if __name__ == "__main__":
    sys.exit(main())
