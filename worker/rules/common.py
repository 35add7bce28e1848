"""Shared pieces of the pure rules: hysteresis levels, deliberate-removal taints, pending-pod reasons, units, and the
evicted and top pods a node finding names."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from worker.model import ClusterSample, Finding, NodeSample, PodRef, Severity, Taint, fingerprint

# Taints that mean "this node is being removed on purpose": NotReady/cordon on such a node is not an emergency.
REMOVAL_TAINTS = {
    "ToBeDeletedByClusterAutoscaler": "cluster-autoscaler (scale-down)",
    "karpenter.sh/disrupted": "Karpenter (disruption)",
    "karpenter.sh/disruption": "Karpenter (disruption)",
    "cloud.google.com/impending-node-termination": "GKE (spot/preemptible termination)",
    "aws-node-termination-handler/spot-itn": "aws-node-termination-handler (spot interruption)",
    "aws-node-termination-handler/rebalance-recommendation": "aws-node-termination-handler (rebalance)",
    "aws-node-termination-handler/scheduled-maintenance": "aws-node-termination-handler (scheduled event)",
    "aws-node-termination-handler/asg-lifecycle-termination": "aws-node-termination-handler (ASG termination)",
    "kubernetes.azure.com/scalesetpriority-evicting": "AKS (spot eviction)",
    "node.cloudprovider.kubernetes.io/shutdown": "cloud provider (instance shut down)",
}

# Taints the node lifecycle controller mirrors from conditions or cordons: their own rules report them.
CONDITION_TAINTS = frozenset(
    {
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
        "node.kubernetes.io/unschedulable",
        "node.kubernetes.io/memory-pressure",
        "node.kubernetes.io/disk-pressure",
        "node.kubernetes.io/pid-pressure",
        "node.kubernetes.io/network-unavailable",
        "node.cloudprovider.kubernetes.io/uninitialized",
    }
)

TAINT_OWNERS = {
    "node.kubernetes.io/out-of-service": "an operator (out-of-service: volumes detached, pods force-deleted)",
    "node-role.kubernetes.io/control-plane": "the installer (control-plane node)",
    "node-role.kubernetes.io/master": "the installer (control-plane node)",
    "DeletionCandidateOfClusterAutoscaler": "cluster-autoscaler (scale-down candidate)",
    "kubernetes.azure.com/scalesetpriority": "AKS (spot node pool)",
    "cloud.google.com/gke-spot": "GKE (spot node pool)",
    "eks.amazonaws.com/compute-type": "EKS (Fargate)",
}


def matches(key: str, patterns: Iterable[str]) -> bool:
    """Exact key, or a prefix when the pattern ends in ``*``."""
    return any(key.startswith(p[:-1]) if p.endswith("*") else key == p for p in patterns)


def taint_owner(key: str) -> str:
    if key in REMOVAL_TAINTS:
        return REMOVAL_TAINTS[key]
    if key in TAINT_OWNERS:
        return TAINT_OWNERS[key]
    if key.startswith("node.kubernetes.io/"):
        return "the kubelet or node controller"
    if "/" in key:
        return f"{key.split('/', 1)[0]} (from the taint key's prefix)"
    return "an operator or tool (no prefix in the taint key)"


def removal_taint(node: NodeSample) -> Taint | None:
    return next((t for t in node.taints if t.key in REMOVAL_TAINTS), None)


def level(
    value: float, warning: float, critical: float, firing: Severity | None, margin: float
) -> tuple[Severity | None, float]:
    """Severity with hysteresis, and the threshold it is measured against: a level that is firing holds until
    the value drops below its threshold minus ``margin``."""
    if value >= critical or (firing == Severity.CRITICAL and value >= critical - margin):
        return Severity.CRITICAL, critical
    held = firing in (Severity.WARNING, Severity.CRITICAL)
    if value >= warning or (held and value >= warning - margin):
        return Severity.WARNING, warning
    return None, warning


def make(
    sample: ClusterSample,
    node: str,
    rule: str,
    severity: Severity | None,
    summary: str,
    *,
    value: float | None = None,
    threshold: float | None = None,
    hold_for: float = 0.0,
    params: Mapping[str, object] | None = None,
    excess: float | None = None,
) -> Finding:
    full: dict[str, object] = {"value": value, "threshold": threshold}
    full.update(params or {})
    return Finding(
        cluster=sample.cluster,
        node=node,
        rule=rule,
        severity=severity,
        value=None if value is None else round(value, 2),
        threshold=threshold,
        summary=summary,
        params=full,
        hold_for=hold_for if severity is not None else 0.0,
        excess=excess if severity is not None else None,
    )


def firing_of(firing: Mapping[str, Severity], sample: ClusterSample, node: str, rule: str) -> Severity | None:
    return firing.get(fingerprint(sample.cluster, node, rule))


def percent(
    sample: ClusterSample,
    node: str,
    rule: str,
    value: float,
    lines: tuple[float, float],
    *,
    firing: Mapping[str, Severity],
    margin: float,
    said: tuple[str, str, str],
    hold_for: tuple[float, float],
    params: Mapping[str, object],
) -> Finding:
    """A percentage against its warning and critical ``lines``, with hysteresis (``level``), as the finding that
    says so: ``said`` = (what, how, after) reads "<node>: <what> 93.0% <how> (critical >= 90%)<after>";
    ``hold_for`` = (critical, warning) for-durations."""
    warning, critical = lines
    severity, threshold = level(value, warning, critical, firing_of(firing, sample, node, rule), margin)
    state = f"{severity.label} >= {threshold:g}%" if severity else f"below {warning:g}%"
    what, how, after = said
    summary = f"{node}: {what} {value:.1f}% {how} ({state}){after}"
    hold = hold_for[0] if severity == Severity.CRITICAL else hold_for[1]
    return make(
        sample, node, rule, severity, summary, value=value, threshold=threshold, hold_for=hold, params=params,
        excess=value - critical,
    )  # fmt: skip


# --- pending pods --------------------------------------------------------------------------------------

_INSUFFICIENT = re.compile(r"Insufficient ([A-Za-z0-9./_-]+)")


def pending_resources(message: str) -> set[str]:
    """Resources a FailedScheduling message says are short: cpu, memory, ephemeral-storage, pods."""
    found = {m.rstrip(".,") for m in _INSUFFICIENT.findall(message)}
    if "Too many pods" in message:
        found.add("pods")
    return found


def pending_for(sample: ClusterSample, resource: str) -> list[PodRef]:
    return [p for p in sample.pending_pods if resource in pending_resources(p.reason)]


PENDING_RESOURCES = ("cpu", "memory", "ephemeral-storage", "pods")


def pending_by_resource(sample: ClusterSample) -> dict[str, list[PodRef]]:
    """``pending_for`` of every resource at once: each scheduler message is read once per scan, not once per
    node (a cluster with 500 Pending pods and 5,000 nodes would otherwise read 10 million messages)."""
    out: dict[str, list[PodRef]] = {r: [] for r in PENDING_RESOURCES}
    for pod in sample.pending_pods:
        for resource in pending_resources(pod.reason):
            if resource in out:
                out[resource].append(pod)
    return out


def pod_names(pods: Sequence[PodRef], limit: int = 3) -> str:
    names = ", ".join(f"{p.namespace}/{p.name}" for p in pods[:limit])
    return names + (f" and {len(pods) - limit} more" if len(pods) > limit else "")


def pod_dicts(pods: Iterable[PodRef]) -> list[dict[str, object]]:
    return [
        {"namespace": p.namespace, "name": p.name, "cpu_m": p.cpu_m, "memory": p.memory, "reason": p.reason}
        for p in pods
    ]


# --- units ---------------------------------------------------------------------------------------------


def gib(value: float) -> str:
    return f"{value / 1024**3:.1f} GiB"


def cores(millis: float) -> str:
    return f"{millis / 1000:.2f} cores"


# --- pieces of node findings: evicted pods, top pods, times ------------------------------------------------


def evicted_pods(sample: ClusterSample, node: NodeSample) -> tuple[list[dict[str, object]], str]:
    pods = sample.evicted_pods.get(node.name, ())
    if not pods:
        return [], ""
    return pod_dicts(pods), f"; {len(pods)} pod(s) evicted recently: {pod_names(pods)}"


def top_pods(node: NodeSample, by: str) -> list[PodRef]:
    key = (lambda p: p.cpu_m) if by == "cpu" else (lambda p: p.memory)
    return sorted(node.top_pods, key=key, reverse=True)[:3]


def top_pods_text(pods: list[PodRef], by: str) -> str:
    if not pods:
        return ""
    source = "requests" if pods[0].reason == "requests" else "usage"
    shown = [cores(p.cpu_m) if by == "cpu" else gib(p.memory) for p in pods]
    return f"; top pods by {by} {source}: " + ", ".join(
        f"{p.namespace}/{p.name} {s}" for p, s in zip(pods, shown, strict=True)
    )


def iso_time(when: datetime | None) -> str:
    return when.isoformat() if when else ""
