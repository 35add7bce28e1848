"""Table-driven tests of the per-node rules, each with the explicit NOW of helpers_rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from helpers_rules import GI, NOW, cluster, node, none_of, one, run

from worker.model import (
    Condition,
    DiskStats,
    FsStats,
    PodRef,
    Resources,
    Severity,
    Taint,
    Usage,
    fingerprint,
)
from worker.model.thresholds import Thresholds
from worker.rules.evaluate import evaluate

W, C = Severity.WARNING, Severity.CRITICAL


# --- usage, thresholds and hysteresis ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cpu_m", "firing", "expected", "threshold"),
    [
        (2000, None, None, 70.0),  # 50 %
        (2799, None, None, 70.0),  # 69.98 %
        (2800, None, W, 70.0),  # exactly the warning threshold fires
        (3600, None, C, 90.0),
        (2700, None, None, 70.0),  # 67.5 %: not firing, below threshold
        (2700, W, W, 70.0),  # 67.5 %: firing warning holds above 70 - 5
        (2580, W, None, 70.0),  # 64.5 %: below the hysteresis band, clears
        (3500, C, C, 90.0),  # 87.5 %: critical holds above 85
        (3350, C, W, 70.0),  # 83.75 %: drops to warning
        (2700, C, W, 70.0),  # a firing critical keeps the warning band too
    ],
)
def test_cpu_usage_levels_with_hysteresis(cpu_m, firing, expected, threshold):
    sample = cluster(node(usage=Usage(cpu_m=cpu_m, memory=GI)))
    fired = {fingerprint("c1", "n1", "cpu_usage"): firing} if firing else {}
    f = one(run(sample, Thresholds(usage_for=120, usage_warning_for=0), fired), "cpu_usage")
    assert f.severity == expected
    assert f.threshold == threshold
    assert f.value == pytest.approx(100 * cpu_m / 4000, abs=0.01)
    assert f.hold_for == (120 if expected else 0)


@pytest.mark.parametrize(
    ("memory_gi", "expected"), [(11, None), (11.25, W), (14.5, C), (16, C)]
)  # 68.75 %, 70.3 %, 90.6 %, 100 %
def test_memory_usage_levels_name_top_pods(memory_gi, expected):
    top = (
        PodRef("ns", "big", cpu_m=100, memory=8 * GI, reason="usage"),
        PodRef("ns", "hot", cpu_m=900, memory=GI),
    )
    sample = cluster(node(usage=Usage(cpu_m=100, memory=int(memory_gi * GI)), top_pods=top))
    f = one(run(sample), "memory_usage")
    assert f.severity == expected
    assert f.params["top_pods"][0]["name"] == "big"
    assert "ns/big 8.0 GiB" in f.summary
    cpu = one(run(sample), "cpu_usage")
    assert cpu.params["top_pods"][0]["name"] == "hot"


@pytest.mark.parametrize(("pods", "expected"), [(87, None), (88, W), (105, C), (110, C)])
def test_pods_usage(pods, expected):
    f = one(run(cluster(node(pod_count=pods))), "pods_usage")
    assert f.severity == expected
    assert f.params["pod_count"] == pods


def test_custom_thresholds_apply_per_node():
    sample = cluster(node("a", usage=Usage(2000, GI)), node("b", usage=Usage(2000, GI)))
    strict = Thresholds(cpu_warning=40, cpu_critical=60)
    findings = evaluate(sample, lambda n: strict if n.name == "b" else Thresholds(), {}, NOW)
    assert one(findings, "cpu_usage", "a").severity is None
    assert one(findings, "cpu_usage", "b").severity == W


def test_metrics_absent_skips_usage_but_keeps_conditions_and_allocation():
    sample = cluster(node(usage=None, usage_unavailable="metrics API (metrics.k8s.io) not available (404)"))
    findings = run(sample)
    assert none_of(findings, "cpu_usage") and none_of(findings, "memory_usage")
    assert one(findings, "pods_usage").severity is None
    assert one(findings, "node_not_ready").severity is None
    assert one(findings, "cpu_requests").severity is None


# --- Ready and conditions ------------------------------------------------------------------------------

AUTOSCALER = Taint("ToBeDeletedByClusterAutoscaler", "NoSchedule", "1700000000")
SPOT = Taint("aws-node-termination-handler/spot-itn", "NoSchedule")


@pytest.mark.parametrize(
    ("status", "unschedulable", "taints", "rule", "expected", "hold"),
    [
        ("True", False, (), "node_not_ready", None, 0),
        ("True", False, (), "node_unknown", None, 0),
        ("False", False, (), "node_not_ready", C, 300),
        ("False", False, (), "node_unknown", None, 0),
        ("Unknown", False, (), "node_unknown", C, 300),
        ("Unknown", False, (), "node_not_ready", None, 0),
        ("False", True, (), "node_not_ready", Severity.INFO, 0),  # cordoned + NotReady = maintenance
        ("Unknown", False, (AUTOSCALER,), "node_unknown", Severity.INFO, 0),  # autoscaler removing it
        ("Unknown", False, (SPOT,), "node_unknown", Severity.INFO, 0),  # spot interruption
    ],
)
def test_ready_conditions(status, unschedulable, taints, rule, expected, hold):
    beat = NOW - timedelta(minutes=7)
    cond = Condition("Ready", status, "NodeStatusUnknown", "Kubelet stopped posting node status.", beat, beat)
    sample = cluster(node(conditions={"Ready": cond}, unschedulable=unschedulable, taints=taints))
    f = one(run(sample, Thresholds(not_ready_for=300)), rule)
    assert f.severity == expected
    assert f.hold_for == hold
    if expected is not None:
        assert f.params["last_heartbeat"] == beat.isoformat()
        assert f.params["message"] == "Kubelet stopped posting node status."
        assert f.value == 420.0


def test_missing_ready_condition_reads_unknown():
    f = one(run(cluster(node(conditions={}))), "node_unknown")
    assert f.severity == C and f.params["reason"] == "NoReadyCondition"


@pytest.mark.parametrize(
    ("ctype", "rule"),
    [
        ("MemoryPressure", "memory_pressure"),
        ("DiskPressure", "disk_pressure"),
        ("PIDPressure", "pid_pressure"),
        ("NetworkUnavailable", "network_unavailable"),
    ],
)
@pytest.mark.parametrize(
    ("status", "cordoned", "expected"),
    [("True", False, C), ("True", True, Severity.INFO), ("False", False, None)],
)
def test_pressure_conditions(ctype, rule, status, cordoned, expected):
    conds = {
        "Ready": Condition("Ready", "True"),
        ctype: Condition(ctype, status, "KubeletHas" + ctype, "msg"),
    }
    sample = cluster(
        node(conditions=conds, unschedulable=cordoned),
        evicted_pods={"n1": (PodRef("web", "a-1", reason="The node was low on resource: memory."),)},
    )
    f = one(run(sample, Thresholds(pressure_for=60)), rule)
    assert f.severity == expected
    if expected is not None:
        assert f.hold_for == 60
        if rule in ("memory_pressure", "disk_pressure", "pid_pressure"):
            assert "web/a-1" in f.summary and f.params["evicted"][0]["name"] == "a-1"


def test_disk_pressure_without_summary_says_why():
    conds = {"Ready": Condition("Ready", "True"), "DiskPressure": Condition("DiskPressure", "True")}
    sample = cluster(node(conditions=conds, disk=None, disk_unavailable="kubelet summary forbidden (403)"))
    f = one(run(sample), "disk_pressure")
    assert f.severity == C
    assert "disk figures unavailable (kubelet summary forbidden (403))" in f.summary


# --- disk ----------------------------------------------------------------------------------------------


def fs(used_pct: float, inodes_used_pct: float = 10.0, capacity: int = 100 * GI) -> FsStats:
    available = round(capacity * (1 - used_pct / 100))
    return FsStats(
        capacity, capacity - available, available, 1000, round(1000 * (1 - inodes_used_pct / 100)), 0
    )


@pytest.mark.parametrize(
    ("nodefs", "imagefs", "firing", "rule", "expected"),
    [
        (fs(79.9), fs(10, capacity=50 * GI), None, "disk_nodefs", None),
        (fs(80), fs(10, capacity=50 * GI), None, "disk_nodefs", W),
        (fs(88), fs(10, capacity=50 * GI), None, "disk_nodefs", C),
        (fs(86), fs(10, capacity=50 * GI), C, "disk_nodefs", C),  # hysteresis: holds above 83
        (fs(82), fs(10, capacity=50 * GI), C, "disk_nodefs", W),
        (fs(10), fs(74.9, capacity=50 * GI), None, "disk_imagefs", None),
        (fs(10), fs(75, capacity=50 * GI), None, "disk_imagefs", W),
        (fs(10), fs(83, capacity=50 * GI), None, "disk_imagefs", C),
        (fs(10, 84.9), fs(10, capacity=50 * GI), None, "disk_inodes", None),
        (fs(10, 85), fs(10, capacity=50 * GI), None, "disk_inodes", W),
        (fs(10, 93), fs(10, capacity=50 * GI), None, "disk_inodes", C),
        (fs(10), fs(10, 95, capacity=50 * GI), None, "disk_inodes", C),  # separate imagefs inodes count
    ],
)
def test_disk_thresholds(nodefs, imagefs, firing, rule, expected):
    sample = cluster(node(disk=DiskStats(nodefs, imagefs)))
    fired = {fingerprint("c1", "n1", rule): firing} if firing else {}
    f = one(run(sample, Thresholds(disk_for=600, disk_warning_for=1200), fired), rule)
    assert f.severity == expected
    # a warning waits diskWarningFor (never less than diskFor), a critical diskFor
    assert f.hold_for == {None: 0, W: 1200, C: 600}[expected]
    # a diskWarningFor shorter than diskFor does not shorten the warning's wait
    short = one(run(sample, Thresholds(disk_for=600, disk_warning_for=60), fired), rule)
    assert short.hold_for == (600 if expected else 0)


@pytest.mark.parametrize(("used", "expected"), [(74, None), (76, W), (84, C)])
def test_shared_disk_one_alert_with_imagefs_thresholds(used, expected):
    shared = fs(used)
    findings = run(cluster(node(disk=DiskStats(shared, shared))))
    assert none_of(findings, "disk_imagefs")
    f = one(findings, "disk_nodefs")
    assert f.severity == expected and f.params["shared"] is True


def test_disk_unavailable_is_not_evaluated():
    findings = run(cluster(node(disk=None, disk_unavailable="disk stats disabled")))
    assert (
        none_of(findings, "disk_nodefs")
        and none_of(findings, "disk_imagefs")
        and none_of(findings, "disk_inodes")
    )


# --- allocation headroom -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requests", "rule", "expected"),
    [
        (Resources(3500, 4 * GI, 0, 0), "cpu_requests", None),  # exactly one typical pod (500m) left
        (Resources(3501, 4 * GI, 0, 0), "cpu_requests", W),
        (Resources(1000, 15 * GI, 0, 0), "memory_requests", None),
        (Resources(1000, 15 * GI + 1, 0, 0), "memory_requests", W),
        (Resources(1000, GI, 99.5 * GI, 0), "ephemeral_requests", W),
    ],
)
def test_requests_headroom_vs_typical_pod(requests, rule, expected):
    f = one(run(cluster(node(requests=requests, usage=Usage(100, GI)))), rule)
    assert f.severity == expected  # fires on requests while usage is ~2 %


def test_pod_slots_headroom():
    assert one(run(cluster(node(pod_count=110))), "pods_requests").severity == W
    assert one(run(cluster(node(pod_count=109))), "pods_requests").severity is None


def test_pending_pods_named_and_raise_to_critical():
    full = node("node-7", requests=Resources(1000, int(15.68 * GI), 0, 0))
    pending = tuple(
        PodRef("shop", f"cart-{i}", reason="0/3 nodes are available: 3 Insufficient memory.")
        for i in range(3)
    )
    findings = run(cluster(full, pending_pods=pending))
    f = one(findings, "memory_requests", "node-7")
    assert f.severity == C
    assert f.summary.startswith(
        "3 pod(s) Pending: Insufficient memory (shop/cart-0, shop/cart-1, shop/cart-2); "
    )
    assert "node-7 has 2% memory headroom" in f.summary
    assert f.params["pending_count"] == 3
    assert one(findings, "cpu_requests", "node-7").params["pending_count"] == 0


def test_cordoned_node_headroom_is_not_alerted():
    f = one(run(cluster(node(unschedulable=True, requests=Resources(4000, 16 * GI, 0, 0)))), "cpu_requests")
    assert f.severity is None and "not schedulable" in f.summary


# --- taints, cordon, labels ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("taint", "ignore", "expected", "hold"),
    [
        (Taint("dedicated", "NoSchedule", "gpu"), None, W, 3600),
        (Taint("dedicated", "NoExecute", "gpu", NOW - timedelta(hours=2)), None, W, 0),
        (Taint("dedicated", "NoExecute", "gpu", NOW - timedelta(minutes=2)), None, W, 3600),
        (Taint("dedicated", "PreferNoSchedule"), None, None, 0),
        (Taint("node-role.kubernetes.io/control-plane", "NoSchedule"), None, None, 0),
        (Taint("node.kubernetes.io/unreachable", "NoExecute"), None, None, 0),  # node_unknown reports it
        (Taint("dedicated", "NoSchedule"), ("dedi*",), None, 0),
        (AUTOSCALER, None, Severity.INFO, 0),
        (Taint("karpenter.sh/disrupted", "NoSchedule"), None, Severity.INFO, 0),
    ],
)
def test_taints(taint, ignore, expected, hold):
    t = Thresholds(taint_ignore=ignore) if ignore else Thresholds()
    f = one(run(cluster(node(taints=(taint,))), t), "taint")
    assert f.severity == expected
    assert f.hold_for == hold
    if expected is not None:
        assert f.params["taints"][0]["owner"]


def test_taint_owner_from_key():
    f = one(run(cluster(node(taints=(AUTOSCALER,)))), "taint")
    assert "cluster-autoscaler" in f.summary


@pytest.mark.parametrize(
    ("unschedulable", "taints", "expected", "hold"),
    [
        (False, (), None, 0),
        (True, (), W, 3600),
        (
            True,
            (Taint("node.kubernetes.io/unschedulable", "NoSchedule", "", NOW - timedelta(hours=3)),),
            W,
            0,
        ),
        (True, (AUTOSCALER,), Severity.INFO, 0),
    ],
)
def test_cordon(unschedulable, taints, expected, hold):
    f = one(run(cluster(node(unschedulable=unschedulable, taints=taints))), "cordon")
    assert f.severity == expected and f.hold_for == hold


@pytest.mark.parametrize(
    ("labels", "before", "expected", "needle"),
    [
        ({"topology.kubernetes.io/zone": "a", "team": "x"}, None, None, ""),
        ({"topology.kubernetes.io/zone": "a"}, None, W, "missing required label(s) team"),
        (
            {"topology.kubernetes.io/zone": "a", "team": "x"},
            {"topology.kubernetes.io/zone": "a", "team": "x", "node-role.kubernetes.io/ingress": ""},
            W,
            "label node-role.kubernetes.io/ingress removed",
        ),
        (
            {"topology.kubernetes.io/zone": "b", "team": "x"},
            {"topology.kubernetes.io/zone": "a", "team": "x"},
            W,
            "changed 'a' -> 'b'",
        ),
        (
            {"topology.kubernetes.io/zone": "a", "team": "y"},
            {"topology.kubernetes.io/zone": "a", "team": "x"},
            None,
            "",
        ),
    ],
)
def test_labels(labels, before, expected, needle):
    t = Thresholds(required_labels=("topology.kubernetes.io/zone", "team"))
    previous = {"n1": node(labels=before)} if before is not None else None
    f = one(run(cluster(node(labels=labels)), t, previous=previous), "labels")
    assert f.severity == expected
    assert needle in f.summary


def test_every_finding_is_json_serialisable():
    import json

    sample = cluster(
        node(
            taints=(Taint("x", "NoSchedule", "", NOW),),
            disk=DiskStats(fs(90), fs(90, capacity=GI)),
            top_pods=(PodRef("a", "b", 1, 2),),
        ),
        pending_pods=(PodRef("a", "p", reason="Insufficient cpu"),),
    )
    findings = run(sample, previous={"n1": replace(node(), labels={"node-role.kubernetes.io/x": ""})})
    json.dumps([f.params for f in findings])
    assert {f.rule for f in findings} >= {"cpu_usage", "disk_nodefs", "disk_imagefs", "taint", "labels"}
