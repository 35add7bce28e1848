"""Builders for rule tests: a healthy 4-core / 16 GiB / 110-pod node and a one-node cluster, tweakable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from worker.model import ClusterSample, Condition, Finding, NodeSample, Resources, Severity, Usage, rules
from worker.model.thresholds import Thresholds
from worker.rules.evaluate import evaluate

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GI = 1024**3
ALLOC = Resources(cpu_m=4000.0, memory=16 * GI, ephemeral_storage=100 * GI, pods=110)


def node(name: str = "n1", ready: str = "True", **changes: Any) -> NodeSample:
    base = NodeSample(
        cluster="c1",
        name=name,
        conditions={"Ready": Condition("Ready", ready, reason="KubeletReady", message="kubelet is posting")},
        capacity=ALLOC,
        allocatable=ALLOC,
        requests=Resources(cpu_m=1000.0, memory=4 * GI, ephemeral_storage=0, pods=10),
        pod_count=10,
        usage=Usage(cpu_m=1000.0, memory=4 * GI),
    )
    return replace(base, **changes)


def cluster(*nodes: NodeSample, **changes: Any) -> ClusterSample:
    return replace(ClusterSample(cluster="c1", taken_at=NOW, nodes=nodes or (node(),)), **changes)


def run(
    sample: ClusterSample,
    t: Thresholds | None = None,
    firing: Mapping[str, Severity] | None = None,
    **kwargs: Any,
) -> list[Finding]:
    chosen = t or Thresholds()
    found = evaluate(sample, lambda _n: chosen, firing or {}, NOW, **kwargs)
    unknown = {f.rule for f in found} - set(rules.NAMES)
    assert not unknown, f"reported but not in the rule registry (worker/model/rules.py): {unknown}"
    return found


def one(findings: list[Finding], rule: str, node_name: str = "n1") -> Finding:
    hits = [f for f in findings if f.rule == rule and f.node == node_name]
    assert len(hits) == 1, f"{rule}/{node_name}: {len(hits)} findings"
    return hits[0]


def none_of(findings: list[Finding], rule: str, node_name: str = "n1") -> bool:
    return not [f for f in findings if f.rule == rule and f.node == node_name]
