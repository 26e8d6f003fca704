"""``make audit``: known vulnerabilities in the pinned dependencies (``constraints.txt``), with pip-audit.

pip-audit asks a vulnerability service over the network: OSV first, then PyPI's JSON API. A
service that cannot be reached, or that knows none of the pinned packages (a mirror without the
per-version API), is *unavailable*, and the next one is tried. The outcome:

- a known vulnerability in any pin: exit 1, listing the package, the advisory and the fixed versions
  (upgrade the pin in ``constraints.txt``);
- every package the service knows is clean: exit 0 (packages it does not know, such as the
  spaCy model wheel, are listed as not audited);
- no service available: a warning and exit 0, or exit 2 with ``AUDIT_STRICT=1`` (CI with network).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
CONSTRAINTS: Final = REPO_ROOT / "constraints.txt"
SERVICES: Final = ("osv", "pypi")
AUDIT_TIMEOUT_SECONDS: Final = 600


def _audit(service: str) -> dict[str, Any] | None:
    """pip-audit's JSON report from ``service``, or None when the service could not be used."""
    command = [
        sys.executable, "-m", "pip_audit",
        "--requirement", str(CONSTRAINTS),
        "--no-deps",  # constraints.txt pins the whole tree already
        "--disable-pip",
        "--vulnerability-service", service,
        "--format", "json",
        "--progress-spinner", "off",
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=AUDIT_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        print(f"pip-audit ({service}): no answer within {AUDIT_TIMEOUT_SECONDS} s", file=sys.stderr)
        return None
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"pip-audit ({service}) unavailable: {last}", file=sys.stderr)
        return None
    audited = [d for d in report.get("dependencies", []) if "skip_reason" not in d]
    if not audited:
        print(f"pip-audit ({service}) unavailable: it knows none of the pinned packages", file=sys.stderr)
        return None
    return report


def main() -> int:
    for service in SERVICES:
        report = _audit(service)
        if report is None:
            continue
        dependencies = report["dependencies"]
        skipped = sorted(d["name"] for d in dependencies if "skip_reason" in d)
        vulnerable = [d for d in dependencies if d.get("vulns")]
        audited = len(dependencies) - len(skipped)
        print(f"pip-audit ({service}): {audited} pinned packages audited, {len(vulnerable)} with known vulnerabilities")
        if skipped:
            print(f"  not audited (unknown to {service}): {', '.join(skipped)}")
        for dependency in vulnerable:
            for vuln in dependency["vulns"]:
                fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
                print(f"  {dependency['name']}=={dependency['version']}: {vuln['id']} (fixed in: {fixed})")
        if vulnerable:
            print("Upgrade the pins above in constraints.txt to a fixed version, then `make install`.")
            return 1
        return 0
    message = (
        "no vulnerability service reachable (OSV: api.osv.dev, PyPI: per-version JSON API); "
        "the dependencies were NOT audited"
    )
    if os.environ.get("AUDIT_STRICT") == "1":
        print(f"error: {message}", file=sys.stderr)
        return 2
    print(f"warning: {message}. Set AUDIT_STRICT=1 to make this an error (CI).", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
