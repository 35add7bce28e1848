"""``nodewatch scan``'s document and exit code from a sample built by hand: every finding is shown somewhere,
a node that could not be read included, and the exit code follows the worst of them."""

from __future__ import annotations

from datetime import UTC, datetime

from worker import clusters
from worker.cli import scan
from worker.model import ClusterSample, Finding, Severity, Unreadable

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
SPEC = clusters.ClusterSpec("prod", 60)


def test_an_unreadable_node_is_listed_with_its_finding() -> None:
    sample = ClusterSample(
        "prod", NOW, unreadable={"n2": Unreadable("status.allocatable.memory", "bad quantity 'lots'")}
    )
    finding = Finding("prod", "n2", "node_unreadable", Severity.WARNING, summary="n2: bad quantity 'lots'")
    doc = scan.document(scan.Scanned(SPEC, sample, [finding]), NOW)
    assert doc["nodes"] == [] and doc["cluster"] == "prod"
    assert doc["unreadable_nodes"] == [
        {
            "node": "n2",
            "findings": [{"rule": "node_unreadable", "severity": "warning", "summary": finding.summary}],
        }
    ]


def test_exit_code_is_the_worst_outcome() -> None:
    sample = ClusterSample("prod", NOW)
    critical = scan.Scanned(SPEC, sample, [Finding("prod", "", "ready_drop", Severity.CRITICAL)])
    fine = scan.Scanned(SPEC, sample, [Finding("prod", "n1", "cpu_usage", None)])
    warning = scan.Scanned(SPEC, sample, [Finding("prod", "n1", "cpu_usage", Severity.WARNING)])
    refused = scan.Scanned(SPEC, error="exec plugin", code=2)
    unreachable = scan.Scanned(SPEC, error="connection refused", code=3)
    assert scan.exit_code([fine, warning]) == 0
    assert scan.exit_code([fine, critical, unreachable]) == 1  # a critical finding is never hidden
    assert scan.exit_code([refused, unreachable, fine]) == 2
    assert scan.exit_code([unreachable, warning]) == 3
