"""Cluster-level rules: overcommit without the largest node, membership, Ready-count drop; explicit NOW."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers_rules import GI, NOW, cluster, node, none_of, one, run

from worker.model import PodRef, Resources, Severity, Taint
from worker.model.thresholds import Thresholds
from worker.rules import cluster as cluster_rules

ALLOC = Resources(4000, 16 * GI, 0, 110)


@pytest.mark.parametrize(
    ("cpu_each", "mem_each", "cpu_expected", "mem_expected", "cpu_value"),
    [
        (2000, 4 * GI, None, None, 75.0),  # 6000m of 8000m left without the largest node
        (2700, 4 * GI, Severity.WARNING, None, 101.25),  # 8100m > 8000m
        (1000, 11 * GI, None, Severity.WARNING, 37.5),  # 33 GiB > 32 GiB
    ],
)
def test_overcommit_if_largest_node_lost(cpu_each, mem_each, cpu_expected, mem_expected, cpu_value):
    nodes = [node(f"n{i}", allocatable=ALLOC, requests=Resources(cpu_each, mem_each, 0, 0)) for i in range(3)]
    findings = run(cluster(*nodes), Thresholds(overcommit_for=600))
    cpu = one(findings, "cluster_cpu_overcommit", "")
    assert cpu.severity == cpu_expected
    assert cpu.value == pytest.approx(cpu_value)
    assert cpu.hold_for == (600 if cpu_expected else 0)
    assert one(findings, "cluster_memory_overcommit", "").severity == mem_expected


def test_overcommit_names_pending_pods():
    nodes = [node(f"n{i}", allocatable=ALLOC, requests=Resources(3000, GI, 0, 0)) for i in range(2)]
    pending = (PodRef("a", "big", reason="0/2 nodes are available: 2 Insufficient cpu."),)
    f = one(run(cluster(*nodes, pending_pods=pending)), "cluster_cpu_overcommit", "")
    assert f.severity == Severity.WARNING
    assert f.summary.startswith("1 pod(s) Pending: Insufficient cpu (a/big)")


def test_overcommit_needs_two_nodes():
    assert none_of(run(cluster(node())), "cluster_cpu_overcommit", "")


def test_membership_needs_previous_scan():
    findings = run(cluster(node("a"), node("b")))
    assert none_of(findings, "node_added", "a") and none_of(findings, "node_removed", "c")


def test_nodes_added_and_removed_are_info():
    gone = node("c", taints=(Taint("ToBeDeletedByClusterAutoscaler", "NoSchedule"),))
    findings = run(cluster(node("a"), node("b")), previous={"a": node("a"), "c": gone})
    assert one(findings, "node_added", "a").severity is None
    assert one(findings, "node_added", "b").severity == Severity.INFO
    removed = one(findings, "node_removed", "c")
    assert removed.severity == Severity.INFO and "cluster-autoscaler" in removed.summary


def ten_nodes(not_ready: int, cordoned: int = 0) -> list:
    out = []
    for i in range(10):
        status = "False" if i < not_ready + cordoned else "True"
        out.append(node(f"n{i}", ready=status, unschedulable=not_ready <= i < not_ready + cordoned))
    return out


@pytest.mark.parametrize(
    ("not_ready", "cordoned", "last_seen_ago", "expected", "value"),
    [
        (3, 0, 60, Severity.CRITICAL, 30.0),
        (1, 0, 60, None, 10.0),  # one node: node_not_ready covers it
        (3, 0, 3600, None, 0.0),  # they stopped being Ready long ago, outside the window
        (1, 3, 60, None, 10.0),  # cordoned ones are maintenance
    ],
)
def test_ready_drop(not_ready, cordoned, last_seen_ago, expected, value):
    nodes = ten_nodes(not_ready, cordoned)
    last_ready = {n.name: NOW - timedelta(seconds=last_seen_ago if n.ready != "True" else 0) for n in nodes}
    f = one(run(cluster(*nodes), last_ready=last_ready), "ready_drop", "")
    assert f.severity == expected
    assert f.value == pytest.approx(value)


def test_ready_drop_ignores_deleted_nodes_and_tracks_history():
    before = cluster(*[node(f"n{i}") for i in range(10)])
    history = cluster_rules.update_last_ready({}, before)
    assert len(history) == 10
    after = cluster(*[node(f"n{i}") for i in range(5)])  # autoscaler removed five nodes
    f = one(run(after, last_ready=history), "ready_drop", "")
    assert f.severity is None and f.params["dropped_count"] == 0
    assert set(cluster_rules.update_last_ready(history, after)) == {f"n{i}" for i in range(5)}
