"""Inhibition with explicit ``now``: one cause is one message, whether its alert is still pending or already firing,
and whichever of the cause's and the effect's for-durations is shorter."""

from __future__ import annotations

import pytest

from worker.model import Finding, Severity
from worker.model.alerts import AlertState
from worker.rules import muting, noise

C, W = Severity.CRITICAL, Severity.WARNING
DEFAULT = muting.DEFAULT_INHIBIT


@pytest.mark.parametrize(
    ("target", "sources", "reason"),
    [
        # memory usage -> MemoryPressure on the same node, pending or firing, warning or critical
        (("n1", "memory_pressure"), [("n1", "memory_usage", W, True)], "inhibited by memory_usage (pending)"),
        (("n1", "memory_pressure"), [("n1", "memory_usage", C, False)], "inhibited by memory_usage"),
        (("n1", "memory_pressure"), [("n2", "memory_usage", C, False)], ""),  # another node
        # a full disk -> DiskPressure, but only from critical: below it the pressure has another cause
        (("n1", "disk_pressure"), [("n1", "disk_nodefs", C, True)], "inhibited by disk_nodefs (pending)"),
        (("n1", "disk_pressure"), [("n1", "disk_imagefs", C, False)], "inhibited by disk_imagefs"),
        (("n1", "disk_pressure"), [("n1", "disk_inodes", C, False)], "inhibited by disk_inodes"),
        (("n1", "disk_pressure"), [("n1", "disk_nodefs", W, False)], ""),
        # NotReady -> that node's usage, pressure and requests; not its cordon, not other nodes
        (("n1", "cpu_usage"), [("n1", "node_not_ready", C, True)], "inhibited by node_not_ready (pending)"),
        (("n1", "disk_nodefs"), [("n1", "node_unknown", C, False)], "inhibited by node_unknown"),
        (("n1", "cordon"), [("n1", "node_not_ready", C, False)], ""),
        (("n2", "cpu_usage"), [("n1", "node_not_ready", C, False)], ""),
        # an unreachable cluster -> every node alert in it, named with the source
        (("n1", "node_not_ready"), [("", "cluster_unreachable", C, True)], "inhibited by cluster_unreachable (pending)"),
        (("n1", "taint"), [("", "credentials_rejected", C, False)], "inhibited by credentials_rejected"),
        (("", "cluster_cpu_overcommit"), [("", "cluster_unreachable", C, False)], ""),  # a cluster rule
        # a rule never inhibits itself, and nothing without a source
        (("n1", "memory_usage"), [("n1", "memory_usage", C, False)], ""),
        (("n1", "cpu_usage"), [], ""),
    ],
)  # fmt: skip
def test_default_inhibition(
    target: tuple[str, str], sources: list[tuple[str, str, Severity, bool]], reason: str
) -> None:
    found = muting.Sources(muting.Source(n, r, s, pending=p) for n, r, s, p in sources)
    assert muting.inhibited_by(target[1], target[0], found, DEFAULT) == reason


def finding(node: str, rule: str, sev: Severity | None, hold_for: float) -> Finding:
    return Finding("c", node, rule, sev, summary=f"{node} {rule}", hold_for=hold_for)


def kinds(p: noise.Plan) -> list[tuple[str, str]]:
    return sorted((o.finding.rule, o.kind.value) for o in p.outgoing)


def run(
    steps: list[tuple[float, list[Finding]]], keep_firing_for: float = 0.0
) -> list[tuple[float, str, str]]:
    """Scans at the given times (repeats held by a cooldown that never ends); returns every message sent as
    (time, rule, kind)."""
    prev: dict[str, AlertState] = {}
    cooling: set[str] = set()
    sent = []
    for now, findings in steps:
        ctx = noise.Context(now=now, cooldowns=frozenset(cooling), keep_firing_for=keep_firing_for)
        p = noise.plan("c", prev, findings, ctx)
        cooling |= set(p.cooldown_start)
        for fp in p.delete:
            prev.pop(fp, None)
        prev.update(p.upsert)
        sent += [(now, o.finding.rule, o.kind.value) for o in p.outgoing]
    return sent


def test_memory_pressure_that_fires_first_is_held_by_the_pending_memory_alert() -> None:
    """MemoryPressure (300 s) would fire 240 s before memory usage (540 s): one message, the memory alert's."""
    scans = [
        (t, [finding("n1", "memory_usage", C, 540), finding("n1", "memory_pressure", C, 300)])
        for t in range(0, 1200, 60)
    ]
    assert run(scans) == [(540, "memory_usage", "firing")]


def test_a_pending_cause_that_never_fires_lets_its_effect_page() -> None:
    """The cause cleared before its for-duration: nothing else will page for the effect, so it does."""
    pressure = finding("n1", "memory_pressure", C, 300)
    scans = [(t, [finding("n1", "memory_usage", C, 540), pressure]) for t in range(0, 420, 60)]
    scans += [(t, [finding("n1", "memory_usage", None, 540), pressure]) for t in range(420, 600, 60)]
    assert run(scans) == [(420, "memory_pressure", "firing")]


def test_disk_pressure_is_held_while_the_full_disk_is_pending_or_kept_firing() -> None:
    nodefs, pressure = finding("n1", "disk_nodefs", C, 300), finding("n1", "disk_pressure", C, 0)
    scans = [(t, [nodefs, pressure]) for t in range(0, 600, 60)]
    # the disk drops below its line but keeps firing for 600 s: the pressure still does not page
    cleared = finding("n1", "disk_nodefs", None, 300)
    scans += [(t, [cleared, pressure]) for t in range(600, 1140, 60)]
    assert run(scans, keep_firing_for=600) == [(300, "disk_nodefs", "firing")]


def test_warning_disk_does_not_hold_disk_pressure() -> None:
    scans = [(0, [finding("n1", "disk_nodefs", W, 0), finding("n1", "disk_pressure", C, 0)])]
    assert run(scans) == [(0, "disk_nodefs", "firing"), (0, "disk_pressure", "firing")]


def test_unreachable_cluster_mutes_its_node_alerts() -> None:
    scans = [(0, [finding("", "cluster_unreachable", C, 0), finding("n1", "node_not_ready", C, 0)])]
    assert run(scans) == [(0, "cluster_unreachable", "firing")]
