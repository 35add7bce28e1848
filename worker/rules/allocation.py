"""Allocation headroom: allocatable minus requests against a typical pod, critical when pods are Pending for that
resource. Pure."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from worker.model import ClusterSample, Finding, NodeSample, PodRef, Severity
from worker.model.thresholds import Thresholds
from worker.rules import common
from worker.rules.common import make


def allocation_rules(
    sample: ClusterSample,
    node: NodeSample,
    t: Thresholds,
    pending_by: Mapping[str, list[PodRef]] | None = None,
) -> list[Finding]:
    """Headroom = allocatable - requests, against a typical pod; critical when pods are Pending for it.
    ``pending_by``: ``common.pending_by_resource(sample)``, computed once per scan by the caller."""
    if pending_by is None:
        pending_by = common.pending_by_resource(sample)
    out = []
    checks: list[tuple[str, str, str, float, float, float]] = [
        ("cpu_requests", "cpu", "CPU", node.allocatable.cpu_m, node.requests.cpu_m, t.typical_pod_cpu_m),
        (
            "memory_requests",
            "memory",
            "memory",
            node.allocatable.memory,
            node.requests.memory,
            t.typical_pod_memory,
        ),
        (
            "ephemeral_requests",
            "ephemeral-storage",
            "ephemeral-storage",
            node.allocatable.ephemeral_storage,
            node.requests.ephemeral_storage,
            t.typical_pod_ephemeral,
        ),
        ("pods_requests", "pods", "pod slot", node.allocatable.pods, node.pod_count, t.typical_pod_slots),
    ]
    schedulable = not node.unschedulable and node.ready == "True"
    for rule, resource, word, allocatable, requested, typical in checks:
        if allocatable <= 0:
            continue  # the node does not report this resource: not evaluated
        headroom = allocatable - requested
        headroom_pct = 100.0 * headroom / allocatable
        pending = pending_by.get(resource, [])
        show = _shower(resource)
        params: dict[str, object] = {
            "headroom": headroom,
            "headroom_pct": round(headroom_pct, 1),
            "requests": requested,
            "requests_pct": round(100.0 * requested / allocatable, 1),
            "allocatable": allocatable,
            "typical_pod": typical,
            "pending_count": len(pending),
            "pending_pods": common.pod_dicts(pending[:10]),
        }
        sev: Severity | None = None
        if schedulable and headroom < typical:
            sev = Severity.CRITICAL if pending else Severity.WARNING
        head = f"{node.name} has {headroom_pct:.0f}% {word} headroom ({show(headroom)} unrequested"
        head += f", typical pod {show(typical)})"
        if pending:
            reason = "Too many pods" if resource == "pods" else f"Insufficient {resource}"
            head = f"{len(pending)} pod(s) Pending: {reason} ({common.pod_names(pending)}); {head}"
        if not schedulable:
            head += "; node not schedulable, not alerting"
        out.append(
            make(
                sample,
                node.name,
                rule,
                sev,
                head,
                value=headroom,
                threshold=typical,
                hold_for=t.requests_for,
                params=params,
            )
        )
    return out


def _shower(resource: str) -> Callable[[float], str]:
    if resource == "cpu":
        return common.cores
    if resource == "pods":
        return lambda v: f"{v:.0f}"
    return common.gib
