"""Pending pods indexed by the resource they lack, once per scan, say what ``pending_for`` says per resource."""

from __future__ import annotations

from datetime import UTC, datetime

from worker.model import ClusterSample, PodRef
from worker.rules import common

MESSAGES = [
    "0/5 nodes are available: 3 Insufficient cpu, 2 Insufficient memory.",
    "0/3 nodes are available: 3 Too many pods.",
    "0/4 nodes are available: 4 Insufficient ephemeral-storage.",
    "0/2 nodes are available: 2 node(s) had untolerated taint {dedicated: gpu}.",
    "",
]


def test_pending_by_resource_equals_pending_for_each_resource() -> None:
    pods = tuple(PodRef("ns", f"p{i}", reason=m) for i, m in enumerate(MESSAGES * 3))
    sample = ClusterSample(cluster="c", taken_at=datetime(2026, 11, 29, tzinfo=UTC), pending_pods=pods)
    index = common.pending_by_resource(sample)
    for resource in common.PENDING_RESOURCES:
        assert index[resource] == common.pending_for(sample, resource)
    assert [p.name for p in index["pods"]] == ["p1", "p6", "p11"]
