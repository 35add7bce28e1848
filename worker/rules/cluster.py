"""Cluster-level rules: overcommit if the largest node is lost, Ready-count drop, nodes added/removed, nodes that
cannot be read. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from worker.model import ClusterSample, Finding, NodeSample, Resources, Severity
from worker.model.thresholds import Thresholds
from worker.rules import common
from worker.rules.common import make


def _amount(res: Resources, resource: str) -> float:
    return res.cpu_m if resource == "cpu" else float(res.memory)


def overcommit_rules(sample: ClusterSample, t: Thresholds) -> list[Finding]:
    """kubernetes-mixin KubeCPUOvercommit / KubeMemoryOvercommit: sum(requests) > sum(allocatable) -
    max(allocatable), i.e. the cluster could not re-place every request if its largest node went away. Not
    evaluated while a node cannot be read: without its allocatable the sums would be wrong."""
    out: list[Finding] = []
    if sample.unreadable:
        return out
    for rule, resource in (("cluster_cpu_overcommit", "cpu"), ("cluster_memory_overcommit", "memory")):
        allocs = [_amount(n.allocatable, resource) for n in sample.nodes]
        requested = sum(_amount(n.requests, resource) for n in sample.nodes)
        if len(allocs) < 2:
            continue  # one node (or none): losing it loses everything, the check means nothing
        spare_capacity = sum(allocs) - max(allocs)
        if spare_capacity <= 0:
            continue
        value = 100.0 * requested / spare_capacity
        pending = common.pending_for(sample, resource)
        show = common.cores if resource == "cpu" else common.gib
        sev = Severity.WARNING if value > 100.0 else None
        summary = (
            f"{sample.cluster}: {resource} requests {show(requested)} are {value:.0f}% of what remains "
            f"without the largest node ({show(spare_capacity)})"
        )
        if pending:
            summary = (
                f"{len(pending)} pod(s) Pending: Insufficient {resource} ({common.pod_names(pending)}); "
                + summary
            )
        out.append(
            make(
                sample,
                "",
                rule,
                sev,
                summary,
                value=value,
                threshold=100.0,
                hold_for=t.overcommit_for,
                params={
                    "requests": requested,
                    "allocatable": sum(allocs),
                    "largest_node": max(allocs),
                    "pending_count": len(pending),
                    "pending_pods": common.pod_dicts(pending[:10]),
                },
            )
        )
    return out


def membership_rules(sample: ClusterSample, previous: Mapping[str, NodeSample] | None) -> list[Finding]:
    """node_added for every node (INFO when new), node_removed for each node gone since the previous scan.
    Without a previous scan nothing is evaluated (the first scan would otherwise "add" every node). A node listed
    but unreadable is present: neither removed nor (until it reads) added."""
    if previous is None:
        return []
    out = []
    current = {n.name for n in sample.nodes} | sample.unreadable.keys()
    for node in sample.nodes:
        if node.name in previous:
            out.append(make(sample, node.name, "node_added", None, f"{node.name}: known node"))
        else:
            role = ", ".join(
                k.split("/", 1)[1] for k in node.labels if k.startswith("node-role.kubernetes.io/")
            )
            out.append(
                make(
                    sample,
                    node.name,
                    "node_added",
                    Severity.INFO,
                    f"{node.name}: node joined the cluster" + (f" (role {role})" if role else ""),
                    params={
                        "created": node.created.isoformat() if node.created else "",
                        "labels": node.labels,
                    },
                )
            )
    for name in sorted(set(previous) - current):
        old = previous[name]
        removal = common.removal_taint(old)
        how = f" by {common.taint_owner(removal.key)}" if removal else ""
        out.append(
            make(
                sample,
                name,
                "node_removed",
                Severity.INFO,
                f"{name}: node left the cluster{how}",
                params={
                    "last_ready": old.ready,
                    "removed_by": common.taint_owner(removal.key) if removal else "",
                },
            )
        )
    return out


def update_last_ready(last_ready: Mapping[str, datetime], sample: ClusterSample) -> dict[str, datetime]:
    """The history ``ready_drop`` needs: node -> when it was last seen Ready (nodes gone are dropped; a node
    that cannot be read keeps its time). Store the result and pass it to the next ``evaluate``."""
    present = {n.name for n in sample.nodes} | sample.unreadable.keys()
    out = {name: when for name, when in last_ready.items() if name in present}
    for node in sample.nodes:
        if node.ready == "True":
            out[node.name] = sample.taken_at
    return out


def ready_drop_rules(
    sample: ClusterSample, t: Thresholds, last_ready: Mapping[str, datetime] | None, now: datetime
) -> list[Finding]:
    """Nodes Ready within the window and now present but not Ready. Deleted nodes (autoscaler churn), cordoned
    nodes and nodes tainted for removal are not counted, so scale-down alone never fires this."""
    if last_ready is None:
        return []
    since = now - timedelta(seconds=t.ready_drop_window)
    recent = {name for name, when in last_ready.items() if when >= since}
    pool = [n for n in sample.nodes if n.ready == "True" or n.name in recent]
    dropped = [
        n for n in pool if n.ready != "True" and not n.unschedulable and common.removal_taint(n) is None
    ]
    pct = 100.0 * len(dropped) / len(pool) if pool else 0.0
    fire = len(dropped) >= t.ready_drop_nodes and pct >= t.ready_drop_pct
    names = ", ".join(n.name for n in dropped[:5]) + (
        f" and {len(dropped) - 5} more" if len(dropped) > 5 else ""
    )
    summary = (
        f"{sample.cluster}: {len(dropped)} of {len(pool)} node(s) stopped being Ready within "
        f"{t.ready_drop_window:.0f}s ({pct:.0f}%)" + (f": {names}" if dropped else "")
    )
    return [
        make(
            sample,
            "",
            "ready_drop",
            Severity.CRITICAL if fire else None,
            summary,
            value=pct,
            threshold=t.ready_drop_pct,
            hold_for=t.not_ready_for,  # the same patience as each node's NotReady alert
            params={
                "dropped": [n.name for n in dropped],
                "dropped_count": len(dropped),
                "ready_before": len(pool),
                "min_nodes": t.ready_drop_nodes,
                "window_s": t.ready_drop_window,
            },
        )
    ]


def degraded_rules(sample: ClusterSample) -> list[Finding]:
    """cluster_degraded: some reads failed but the scan went on (metrics API absent, Summary forbidden, events
    unreadable). One warning for the cluster, naming each reason, instead of one per node or one per scan."""
    if not sample.warnings:
        return [make(sample, "", "cluster_degraded", None, f"{sample.cluster}: every read succeeded")]
    return [
        make(
            sample,
            "",
            "cluster_degraded",
            Severity.WARNING,
            f"{sample.cluster}: " + "; ".join(sample.warnings),
            params={"reason": "; ".join(sample.warnings), "warnings": list(sample.warnings)},
        )
    ]


def unreadable_rules(sample: ClusterSample) -> list[Finding]:
    """node_unreadable: a node the API server lists but nodewatch cannot read (one unparsable quantity, a field
    of the wrong type). One warning per node naming the field and the reason; the node's other rules are not
    evaluated meanwhile, so its other alerts stay as they are. Inactive for every node read, so it resolves."""
    out = [
        make(sample, node.name, "node_unreadable", None, f"{node.name}: node read") for node in sample.nodes
    ]
    for name, why in sorted(sample.unreadable.items()):
        out.append(
            make(
                sample,
                name,
                "node_unreadable",
                Severity.WARNING,
                f"{name}: node cannot be read ({why.reason}); its other checks wait until it can",
                params={"field": why.field, "reason": why.reason},
            )
        )
    return out
