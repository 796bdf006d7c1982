"""The preflight's report: one line per finding and a summary line, or the same as JSON."""

import json
from dataclasses import asdict

from newlogic.preflight.findings import LEVELS, Finding


def summary(findings: list[Finding]) -> str:
    """``preflight: N checks, M warnings, K blocking``."""
    count = {level: sum(f.level == level for f in findings) for level in LEVELS}
    return f"preflight: {len(findings)} checks, {count['warning']} warnings, {count['blocking']} blocking"


def blocking(findings: list[Finding]) -> bool:
    """Whether any finding blocks the run."""
    return any(finding.level == "blocking" for finding in findings)


def report(findings: list[Finding], as_json: bool = False) -> str:
    """One line per finding and the summary line, or the same as JSON (``findings``, ``summary``, ``blocking``)."""
    if as_json:
        return json.dumps({"findings": [asdict(f) for f in findings], "summary": summary(findings),
                           "blocking": blocking(findings)}, indent=2)
    return "\n".join([finding.line() for finding in findings] + [summary(findings)])
