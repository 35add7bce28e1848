"""The cluster's own alerts from a scan's outcome: unreachable, credentials rejected, scans too slow. Pure.

The scan (worker/pipeline.py) hands in how it went; the answer is one finding per cluster-health rule of the
registry (those ``reported_by="scan"``), active or inactive, so that they fire and resolve like any other.
"""

from __future__ import annotations

from worker.model import Finding, Severity
from worker.model import rules as registry

HEALTH_RULES = tuple(r.name for r in registry.RULES if r.reported_by == "scan")


def cluster_health(
    failures_before_alert: int, name: str, outcome: str, error: str, failures: int, slow: str = ""
) -> list[Finding]:
    """The cluster's own alerts from this scan's outcome and the failed scans in a row (``failures``):
    ``cluster_unreachable`` / ``credentials_rejected`` / ``cluster_scan_slow`` (critical: scans time out) after
    ``failures_before_alert`` (the config's ``scanFailuresBeforeAlert``) failures; ``cluster_scan_slow`` as a warning when a scan worked but took longer
    than its interval (``slow`` says how long). Inactive findings when the scan works, so they resolve."""
    if outcome in ("ok", "slow"):
        return [_answers(name, r, slow) for r in HEALTH_RULES]
    if failures < failures_before_alert:
        return []
    active = {"credentials_rejected": "credentials_rejected", "timeout": "cluster_scan_slow"}.get(
        outcome, "cluster_unreachable"
    )
    return [
        Finding(
            name,
            "",
            r,
            Severity.CRITICAL if r == active else None,
            value=float(failures),
            summary=f"cluster {name}: {error} ({failures} consecutive failed scans)",
            params={"reason": error, "failures": failures},
        )
        for r in HEALTH_RULES
    ]


def _answers(name: str, rule: str, slow: str) -> Finding:
    """A cluster-health rule once a scan worked: each resolves, but a scan slower than its interval warns."""
    if rule != "cluster_scan_slow":
        return Finding(name, "", rule, None, summary=f"cluster {name} answers")
    if slow:
        return Finding(
            name, "", rule, Severity.WARNING, summary=f"cluster {name}: {slow}", params={"reason": slow}
        )
    return Finding(name, "", rule, None, summary=f"cluster {name} scans in time")
