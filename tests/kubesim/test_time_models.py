# mypy: disable-error-code="union-attr,index,operator,arg-type,type-var,misc"
"""The simulated clock, seeded series, scenario timelines, and model deserialization of every kind served."""

from __future__ import annotations

import calendar
import json
import time

import pytest
from kubernetes import client

from kubesim.testing import KubesimProcess
from tests.kubesim.helpers import api_client, raw_get


def _epoch(stamp: str) -> float:
    return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))


def _series(sim: KubesimProcess, cluster: str, steps: int) -> list[tuple[str, str, str]]:
    metrics = client.CustomObjectsApi(api_client(sim.kubeconfigs[cluster]))
    out = []
    for _ in range(steps):
        sim.control.advance(15)
        for item in metrics.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes")["items"]:
            out.append((item["metadata"]["name"], item["usage"]["cpu"], item["usage"]["memory"]))
    return out


def test_same_seed_same_series_other_seed_other_series(kubesim_factory) -> None:
    args = {"nodes": 3, "pods_per_node": 2, "speed": 0, "extra_args": ["--start", "2026-01-05T00:00:00Z"]}
    a = _series(kubesim_factory(seed=5, **args), "sim-1", 6)
    b = _series(kubesim_factory(seed=5, **args), "sim-1", 6)
    c = _series(kubesim_factory(seed=6, **args), "sim-1", 6)
    assert a == b
    assert a != c
    assert len({cpu for _, cpu, _ in a}) > 6  # noise and the daily curve make a series, not a constant


def test_clock_stepping_moves_every_timestamp(kubesim_factory) -> None:
    sim = kubesim_factory(scenario="e2e", speed=0, extra_args=["--start", "2026-03-01T12:00:00Z"])
    api = api_client(sim.kubeconfigs["e2e"])
    v1 = client.CoreV1Api(api)
    metrics = client.CustomObjectsApi(api)
    start = sim.control.now()
    assert start == _epoch("2026-03-01T12:00:00Z")
    before = metrics.get_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes", "e2e-1")["timestamp"]
    assert sim.control.advance(3600) == start + 3600
    after = metrics.get_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes", "e2e-1")["timestamp"]
    assert _epoch(after) - _epoch(before) == 3600
    ready = next(c for c in v1.read_node("e2e-1").status.conditions if c.type == "Ready")
    assert ready.last_heartbeat_time.timestamp() == start + 3600  # the kubelet posted status on the step
    _, summary = raw_get(api, "/api/v1/nodes/e2e-1/proxy/stats/summary")
    assert _epoch(summary["node"]["cpu"]["time"]) == start + 3600
    sim.control.add_pending_pods("e2e", 1)
    event = v1.list_event_for_all_namespaces().items[0]
    assert event.last_timestamp.timestamp() == start + 3600
    sim.control.set_node("e2e", "e2e-2", ready="False")
    sim.control.advance(120)
    cond = next(c for c in v1.read_node("e2e-2").status.conditions if c.type == "Ready")
    assert cond.status == "False" and cond.last_transition_time.timestamp() == start + 3600


def test_metrics_stale_freezes_timestamps(kubesim_factory) -> None:
    sim = kubesim_factory(scenario="e2e", speed=0)
    metrics = client.CustomObjectsApi(api_client(sim.kubeconfigs["e2e"]))
    sim.control.advance(30)
    sim.control.fault("e2e", "metrics_stale")
    first = metrics.get_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes", "e2e-1")["timestamp"]
    sim.control.advance(600)
    assert (
        metrics.get_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes", "e2e-1")["timestamp"] == first
    )
    sim.control.clear_faults("e2e")
    later = metrics.get_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes", "e2e-1")["timestamp"]
    assert _epoch(later) - _epoch(first) >= 585


def test_demo_timeline(kubesim_factory) -> None:
    sim = kubesim_factory(scenario="demo", speed=0)
    api = api_client(sim.kubeconfigs["demo"])
    v1 = client.CoreV1Api(api)
    metrics = client.CustomObjectsApi(api)
    assert sorted(n.metadata.name for n in v1.list_node().items) == [
        "demo-calm-1", "demo-calm-2", "demo-cpu-1", "demo-disk-1", "demo-mem-1", "demo-notready-1",
    ]  # fmt: skip
    assert sim.control.node("demo", "demo-cpu-1")["usage"]["cpu"] < 0.45
    sim.control.advance(45)
    assert sim.control.node("demo", "demo-cpu-1")["usage"]["cpu"] > 0.95
    node = v1.read_node("demo-notready-1")
    ready = next(c for c in node.status.conditions if c.type == "Ready")
    assert ready.status == "Unknown" and ready.reason == "NodeStatusUnknown"
    assert {t.key for t in node.spec.taints} == {"node.kubernetes.io/unreachable"}
    names = {
        i["metadata"]["name"]
        for i in metrics.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes")["items"]
    }
    assert "demo-notready-1" not in names and len(names) == 5
    sim.control.advance(40)  # t=85
    assert sim.control.node("demo", "demo-mem-1")["usage"]["memory"] > 0.93
    sim.control.advance(10)  # t=95
    assert sim.control.node("demo", "demo-notready-1")["ready"] == "True"
    assert not v1.read_node("demo-notready-1").spec.taints
    sim.control.advance(30)  # t=125
    assert sim.control.node("demo", "demo-mem-1")["usage"]["memory"] < 0.55
    disk = sim.control.node("demo", "demo-disk-1")
    assert 0.85 < disk["usage"]["disk"] <= 0.93
    sim.control.advance(30)  # t=155
    assert sim.control.node("demo", "demo-cpu-1")["usage"]["cpu"] < 0.35
    node = v1.read_node("demo-disk-1")
    assert {c.type: c.status for c in node.status.conditions}["DiskPressure"] == "True"
    assert "node.kubernetes.io/disk-pressure" in {t.key for t in node.spec.taints}


def test_every_kind_deserializes_through_the_client_models(kubesim_factory) -> None:
    sim = kubesim_factory(scenario="demo", speed=0)
    api = api_client(sim.kubeconfigs["demo"])
    v1 = client.CoreV1Api(api)
    sim.control.advance(60)  # unknown node, pressure, leak under way
    sim.control.set_node("demo", "demo-calm-1", unschedulable=True, conditions={"MemoryPressure": "True"})
    sim.control.add_pending_pods("demo", 2)
    sim.control.evict("demo", "demo-calm-2", 1)
    sim.control.add_pods("demo", "demo-calm-2", 1, phase="Succeeded")
    sim.control.put_secret(
        "demo", "nodewatch", "kc-prod", {"kubeconfig": "apiVersion: v1"}, {"nodewatch/cluster": "prod"}
    )
    kinds = {
        "/api/v1/nodes": "V1NodeList",
        "/api/v1/pods": "V1PodList",
        "/api/v1/events": "CoreV1EventList",
        "/api/v1/namespaces": "V1NamespaceList",
        "/api/v1/namespaces/nodewatch/secrets": "V1SecretList",
        "/api/v1/nodes/demo-cpu-1": "V1Node",
        "/version": "VersionInfo",
        "/api/v1": "V1APIResourceList",
        "/apis": "V1APIGroupList",
        "/api": "V1APIVersions",
        "/apis/metrics.k8s.io/v1beta1": "V1APIResourceList",
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases": "V1LeaseList",
    }
    for path, model in kinds.items():
        status, doc = raw_get(api, path)
        assert status == 200, path
        obj = api.deserialize(json.dumps(doc), model, "application/json")
        assert type(obj).__name__ == model
        if hasattr(obj, "items"):
            assert len(obj.items) == len(doc["items"]) > 0, path
            roundtrip = [api.sanitize_for_serialization(i) for i in obj.items]
            assert [r["metadata"]["name"] for r in roundtrip] == [d["metadata"]["name"] for d in doc["items"]]
    pods = v1.list_pod_for_all_namespaces().items
    assert {p.status.phase for p in pods} == {"Running", "Pending", "Failed", "Succeeded"}
    assert any(p.spec.init_containers for p in pods) and any(p.spec.overhead for p in pods)
    assert {p.status.qos_class for p in pods} == {"Guaranteed", "Burstable", "BestEffort"}
    cpu_formats = {
        c.resources.requests.get("cpu") for p in pods for c in p.spec.containers if c.resources.requests
    }
    mem_formats = {
        c.resources.requests.get("memory") for p in pods for c in p.spec.containers if c.resources.requests
    }
    assert {"100m", "0.5", "1"} <= cpu_formats and {"128Mi", "5M", "1Gi"} <= mem_formats
    nodes = v1.list_node().items
    calm = next(n for n in nodes if n.metadata.name == "demo-calm-1")
    assert calm.spec.unschedulable and {
        "node.kubernetes.io/unschedulable",
        "node.kubernetes.io/memory-pressure",
    } <= {t.key for t in calm.spec.taints}
    assert all(len(n.status.conditions) == 5 for n in nodes)
    assert all(
        n.status.capacity["cpu"] in ("4", "8") and n.status.allocatable["cpu"].endswith("m") for n in nodes
    )
    assert all(n.status.images and n.status.node_info.kubelet_version for n in nodes)
    secret = v1.read_namespaced_secret("kc-prod", "nodewatch")
    assert secret.data["kubeconfig"] == "YXBpVmVyc2lvbjogdjE="


def test_trace_replay_scenario_follows_the_trace(kubesim_factory) -> None:
    from kubesim.curves import load_trace

    sim = kubesim_factory(scenario="traces", speed=0)
    trace = load_trace("ec2_cpu_utilization_ac20cd.csv.gz", "cpu").values
    seen = []
    for row in range(0, 40, 4):
        sim.control.advance(1200)  # 4 rows of the trace's own 300 s: it replays at its timestamps
        seen.append(sim.control.node("replay", "replay-nab-3")["usage"]["cpu"])
        assert seen[-1] == pytest.approx(min(1.0, trace[row + 4]), abs=0.05)  # noise 0.01 on top
    bb = sim.control.node("replay", "replay-bitbrains-1")["usage"]
    assert 0 < bb["cpu"] <= 1 and 0 < bb["memory"] <= 1


def test_errors_are_status_objects() -> None:
    with KubesimProcess(scenario="e2e", speed=0) as sim:
        api = api_client(sim.kubeconfigs["e2e"])
        status, body = raw_get(api, "/api/v1/nodes/nope")
        assert status == 404
        parsed = api.deserialize(json.dumps(body), "V1Status", "application/json")
        assert parsed.code == 404 and parsed.reason == "NotFound" and parsed.status == "Failure"
        assert parsed.message == 'nodes "nope" not found'


def test_node_leases_stop_renewing_when_the_kubelet_stops(kubesim_factory) -> None:
    sim = kubesim_factory(scenario="e2e", speed=0)
    coordination = client.CoordinationV1Api(api_client(sim.kubeconfigs["e2e"]))
    start = sim.control.now()
    assert len(coordination.list_namespaced_lease("kube-node-lease").items) == 3
    sim.control.set_node("e2e", "e2e-1", ready="Unknown")
    sim.control.advance(300)
    stopped = coordination.read_namespaced_lease("e2e-1", "kube-node-lease").spec.renew_time.timestamp()
    alive = coordination.read_namespaced_lease("e2e-2", "kube-node-lease").spec.renew_time.timestamp()
    assert stopped <= start and start + 290 <= alive <= start + 300
