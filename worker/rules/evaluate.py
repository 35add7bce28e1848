"""The one entry point of the pure rules: a cluster sample (plus what was firing) in, findings out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from worker.model import ClusterSample, Finding, NodeSample, Severity
from worker.model import rules as registry
from worker.model.thresholds import Thresholds
from worker.rules import allocation, cluster, common, conditions, metadata, usage

# what evaluate reports: the registry's rules other than the scan's own cluster-health ones
RULES = tuple(r.name for r in registry.RULES if r.reported_by == "rules")


def evaluate(
    sample: ClusterSample,
    thresholds_for: Callable[[NodeSample], Thresholds],
    firing: Mapping[str, Severity],
    now: datetime,
    previous: Mapping[str, NodeSample] | None = None,
    last_ready: Mapping[str, datetime] | None = None,
) -> list[Finding]:
    """Every (node, rule) that could be evaluated yields a Finding (severity None = fine). A rule that could not
    be evaluated (no metrics, no disk figures, no previous scan) yields none, so its alert state is kept.

    ``firing`` maps fingerprints of firing alerts to their severity (hysteresis); ``previous`` is the last
    scan's nodes by name (labels, membership); ``last_ready`` is ``cluster.update_last_ready``'s output from
    the previous scans (ready_drop). Cluster-level rules use ``thresholds_for`` of a node named "" without
    labels, i.e. the cluster's own thresholds.
    """
    out: list[Finding] = []
    pending_by = common.pending_by_resource(sample)
    for node in sample.nodes:
        t = thresholds_for(node)
        out += usage.usage_rules(sample, node, t, firing)
        out += conditions.ready_rules(sample, node, t, now)
        out += conditions.condition_rules(sample, node, t)
        out += usage.disk_rules(sample, node, t, firing)
        out += allocation.allocation_rules(sample, node, t, pending_by)
        out += metadata.taint_rules(sample, node, t, now)
        out += metadata.cordon_rules(sample, node, t, now)
        out += metadata.label_rules(sample, node, t, previous.get(node.name) if previous else None)
    cluster_t = thresholds_for(NodeSample(cluster=sample.cluster, name=""))
    out += cluster.overcommit_rules(sample, cluster_t)
    out += cluster.membership_rules(sample, previous)
    out += cluster.ready_drop_rules(sample, cluster_t, last_ready, now)
    out += cluster.degraded_rules(sample)
    out += cluster.unreadable_rules(sample)
    return out
