"""Pure parsing: every real-cluster sample, quantities, allocation arithmetic, events, malformed objects."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from worker.collect import document, eventlist, kubelet, nodelist, podlist, quantities, samples
from worker.model import DiskStats, Unreadable, Usage

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "k8s-samples"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MI = 1024**2


def load(name: str) -> Any:
    text = (SAMPLES / name).read_text()
    return yaml.safe_load(text) if name.endswith(".yaml") else json.loads(text)


def all_samples() -> list[str]:
    return sorted(p.name for p in SAMPLES.iterdir() if p.suffix in (".json", ".yaml"))


def test_fixture_folder_has_every_sample():
    assert len(all_samples()) == 13
    assert (SAMPLES / "README.md").exists()


@pytest.mark.parametrize("name", all_samples())
def test_every_sample_reads_without_skips(name):
    doc = load(name)
    kind = name.split("_", 1)[0]
    if kind in ("Node", "NodeList"):
        nodes, skipped, unreadable = nodelist.parse_nodes("c", doc)
        assert nodes and not skipped and not unreadable
        for node in nodes:
            assert node.allocatable.cpu_m > 0 and node.allocatable.memory > 0 and node.allocatable.pods > 0
    elif kind in ("NodeMetrics", "NodeMetricsList"):
        usage, skipped = nodelist.parse_node_metrics(doc)
        assert usage and not skipped
        assert all(u.window_s == 30.0 for u in usage.values())
    elif kind == "PodMetricsList":
        pods, skipped = podlist.parse_pod_metrics(doc)
        assert len(pods) == 10 and not skipped
    elif kind == "PodList":
        pods, skipped = podlist.parse_pods(doc)
        assert len(pods) == 24 and not skipped
    elif kind == "StatsSummary":
        disk = kubelet.parse_summary(doc)
        assert disk.nodefs is not None and disk.imagefs is not None
        assert 0 < disk.nodefs.used_pct < 100
    else:
        pytest.fail(f"no parser test for {name}")


def test_sample_oddities():
    (eks,), _, _ = nodelist.parse_nodes(
        "c", load("Node_eks-1.29-arm64-AL2-tainted_kubescape-k8s-interface.json")
    )
    assert eks.conditions == {} and eks.ready == "Unknown"  # conditions: null
    assert [(t.key, t.value, t.effect) for t in eks.taints] == [("dedicated", "test123", "NoSchedule")]
    (mk,), _, _ = nodelist.parse_nodes("c", load("Node_minikube-1.15.2_k9s.json"))
    assert mk.allocatable.ephemeral_storage == 15625027559  # plain bytes next to Ki capacity
    assert mk.capacity.ephemeral_storage == 16954240 * 1024
    (aks,), _, _ = nodelist.parse_nodes(
        "c", load("NodeList_aks-1.19-converted-from-ruby_Docker-Provider.json")
    )
    assert len(aks.conditions) == 18 and aks.allocatable.pods == 30
    (gke,), _, _ = nodelist.parse_nodes("c", load("Node_gke-1.10.7_managedkube-cost-agent.json"))
    assert gke.name == "gke-gar-1-pool-1-dce25db1-2mm5"  # a bare list item without "kind"
    usage, _ = nodelist.parse_node_metrics(load("NodeMetrics_minikube-2022_kubernetes-website.json"))
    assert usage["minikube"] == Usage(
        cpu_m=487.558164,
        memory=732212 * 1024,
        timestamp=datetime(2022, 1, 27, 18, 48, 33, tzinfo=UTC),
        window_s=30,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3920m", Decimal("3.92")),
        ("15991140Ki", Decimal(15991140 * 1024)),
        ("1.5Gi", Decimal(1610612736)),
        ("12345n", Decimal("0.000012345")),
        ("1e3", Decimal(1000)),
        ("0", Decimal(0)),
        ("5M", Decimal(5_000_000)),
        (2, Decimal(2)),
    ],
)
def test_quantities(text, expected):
    assert quantities.quantity(text) == expected


@pytest.mark.parametrize("bad", ["12 apples", "", None, True, "Ki"])
def test_bad_quantity_is_malformed(bad):
    with pytest.raises(document.Malformed):
        quantities.quantity(bad)


def test_cpu_and_bytes_units():
    assert quantities.cpu_millis("3920m") == 3920.0
    assert quantities.cpu_millis("487558164n") == pytest.approx(487.558164)
    assert quantities.byte_count("1.5Gi") == 1610612736
    assert quantities.byte_count("0.5") == 1  # fractional bytes round up like the API server


def test_malformed_node_is_skipped_not_fatal():
    doc = load("NodeList_aks-1.19-converted-from-ruby_Docker-Provider.json")
    good = doc["items"][0]
    bad_quantity = copy.deepcopy(good)
    bad_quantity["metadata"]["name"] = "broken"
    bad_quantity["status"]["allocatable"]["memory"] = "lots"
    bad_taints = copy.deepcopy(good)
    bad_taints["metadata"]["name"] = "weird"
    bad_taints["spec"]["taints"] = "NoSchedule"
    doc = {"kind": "NodeList", "items": [bad_quantity, good, bad_taints, "not an object"]}
    nodes, skipped, unreadable = nodelist.parse_nodes("c", doc)
    assert [n.name for n in nodes] == [good["metadata"]["name"]]
    assert len(skipped) == 3
    assert skipped[0].startswith("Node broken: status.allocatable.memory: bad quantity 'lots'")
    assert skipped[1].startswith("Node weird: spec.taints is str")
    # the nodes with a name are kept by name with the field that failed; the nameless item only in skipped
    assert unreadable == {
        "broken": Unreadable("status.allocatable.memory", "status.allocatable.memory: bad quantity 'lots'"),
        "weird": Unreadable("spec.taints", "spec.taints is str, expected a list"),
    }


def container(requests: dict[str, str] | None = None, limits: dict[str, str] | None = None, **extra: Any):
    resources: dict[str, Any] = {}
    if requests:
        resources["requests"] = requests
    if limits:
        resources["limits"] = limits
    return {"name": "c", "resources": resources, **extra}


def pod(name: str, node: str, phase: str = "Running", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"namespace": "ns", "name": name},
        "spec": {"nodeName": node, **spec},
        "status": {"phase": phase},
    }


@pytest.mark.parametrize(
    ("spec", "cpu_m", "memory"),
    [
        (
            {"containers": [container({"cpu": "100m", "memory": "64Mi"}), container({"cpu": "1"})]},
            1100,
            64 * MI,
        ),
        (  # the larger init container wins per resource
            {
                "containers": [container({"cpu": "200m", "memory": "100Mi"})],
                "initContainers": [container({"cpu": "1", "memory": "10Mi"}), container({"memory": "1Gi"})],
            },
            1000,
            1024 * MI,
        ),
        (  # overhead (RuntimeClass) is added on top
            {
                "containers": [container({"cpu": "250m", "memory": "5M"})],
                "overhead": {"cpu": "250m", "memory": "120Mi"},
            },
            500,
            5_000_000 + 120 * MI,
        ),
        (  # a restartable (sidecar) init container runs alongside the app containers
            {
                "containers": [container({"cpu": "500m"})],
                "initContainers": [
                    container({"cpu": "100m"}, restartPolicy="Always"),
                    container({"cpu": "550m"}),  # runs after the sidecar started: 650m peak
                ],
            },
            650,
            0,
        ),
        (  # pod-level resources win for the resources they name
            {
                "containers": [container({"cpu": "100m", "memory": "1Gi"})],
                "resources": {"requests": {"cpu": "2"}},
            },
            2000,
            1024 * MI,
        ),
        ({"containers": [container()]}, 0, 0),
    ],
)
def test_pod_requests_like_kubectl_describe(spec, cpu_m, memory):
    info = podlist.parse_pod(pod("p", "n1", **spec))
    assert info.requests.cpu_m == pytest.approx(cpu_m)
    assert info.requests.memory == memory


def test_allocation_per_node_skips_terminal_and_unscheduled_pods():
    pods = [
        podlist.parse_pod(pod("a", "n1", containers=[container({"cpu": "100m"}, {"cpu": "200m"})])),
        podlist.parse_pod(
            pod("b", "n1", containers=[container({"cpu": "300m", "ephemeral-storage": "1Gi"})])
        ),
        podlist.parse_pod(pod("done", "n1", "Succeeded", containers=[container({"cpu": "4"})])),
        podlist.parse_pod(pod("failed", "n1", "Failed", containers=[container({"cpu": "4"})])),
        podlist.parse_pod(pod("c", "n2", "Pending", containers=[container({"memory": "1Gi"})])),
        podlist.parse_pod(pod("waiting", "", "Pending", containers=[container({"memory": "1Gi"})])),
    ]
    alloc = podlist.allocation(pods)
    assert alloc["n1"].requests.cpu_m == 400 and alloc["n1"].limits.cpu_m == 200
    assert alloc["n1"].requests.ephemeral_storage == 1024 * MI
    assert alloc["n1"].pod_count == 2
    assert alloc["n2"].pod_count == 1
    assert set(alloc) == {"n1", "n2"}


def test_real_kubelet_pod_list_allocation():
    pods, _ = podlist.parse_pods(load("PodList_kubelet-pods-endpoint_minikube-1.35_nri-kubernetes.json"))
    alloc = podlist.allocation(pods)["datagen-1-35"]
    assert alloc.pod_count == 18  # 24 minus 4 Failed and 2 Succeeded
    assert alloc.requests.cpu_m == 1375.0
    assert alloc.requests.memory == 534530880  # includes the decimal "5M"


def test_pending_pods_from_conditions_and_events():
    waiting = pod("big", "", "Pending", containers=[container({"memory": "64Gi"})])
    waiting["status"]["conditions"] = [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": ""}
    ]
    pods, _ = podlist.parse_pods({"kind": "PodList", "items": [waiting]})
    events = {
        "kind": "EventList",
        "items": [
            {
                "reason": "FailedScheduling",
                "message": "0/3 nodes are available: 3 Insufficient memory.",
                "involvedObject": {"kind": "Pod", "namespace": "ns", "name": "big"},
                "lastTimestamp": (NOW - timedelta(minutes=1)).isoformat(),
            },
            {
                "reason": "Evicted",
                "message": "The node was low on resource: memory.",
                "involvedObject": {"kind": "Pod", "namespace": "ns", "name": "gone"},
                "source": {"component": "kubelet", "host": "n1"},
                "lastTimestamp": (NOW - timedelta(minutes=5)).isoformat(),
            },
            {
                "reason": "Evicted",
                "involvedObject": {"kind": "Pod", "namespace": "ns", "name": "old"},
                "source": {"host": "n1"},
                "lastTimestamp": (NOW - timedelta(hours=5)).isoformat(),
            },
        ],
    }
    facts, skipped = eventlist.parse_events(events, NOW, 3600)
    assert not skipped
    sample = samples.assemble("c", NOW, [], pods, None, "off", None, None, facts, 3, 300)
    assert [(p.name, p.reason) for p in sample.pending_pods] == [
        ("big", "0/3 nodes are available: 3 Insufficient memory.")
    ]
    no_events = samples.assemble("c", NOW, [], pods, None, "off", None, None, None, 3, 300)
    assert [p.reason for p in no_events.pending_pods] == ["Unschedulable"]
    assert [p.name for p in sample.evicted_pods["n1"]] == ["gone"]  # the 5-hour-old one is outside the window


def test_assemble_joins_usage_disk_and_reasons():
    nodes, _, _ = nodelist.parse_nodes(
        "c", load("NodeList_minikube-1.35-arm64-containerd_nri-kubernetes.yaml")
    )
    pods, _ = podlist.parse_pods(load("PodList_kubelet-pods-endpoint_minikube-1.35_nri-kubernetes.json"))
    disk = kubelet.parse_summary(load("StatsSummary_minikube-1.31-arm64_nri-kubernetes.json"))
    fresh = Usage(cpu_m=700.0, memory=2 * 1024**3, timestamp=NOW - timedelta(seconds=30))
    sample = samples.assemble(
        "c", NOW, nodes, pods, {"datagen-1-35": fresh}, "", None, {"datagen-1-35": disk}, None, 3, 300
    )
    (node,) = sample.nodes
    assert node.usage == fresh and node.pod_count == 18 and node.requests.pods == 18
    assert isinstance(node.disk, DiskStats) and node.disk_unavailable == ""
    assert node.top_pods and node.top_pods[0].reason == "requests"  # no PodMetrics: ranked by requests
    assert sample.metrics_available
    stale = Usage(cpu_m=700.0, memory=1, timestamp=NOW - timedelta(minutes=10))
    sample = samples.assemble("c", NOW, nodes, pods, {"datagen-1-35": stale}, "", None, None, None, 3, 300)
    assert sample.nodes[0].usage is None and "stale" in sample.nodes[0].usage_unavailable
    assert len(sample.warnings) == 1
    assert "disabled" in sample.nodes[0].disk_unavailable
    absent = samples.assemble(
        "c", NOW, nodes, pods, None, "metrics API not available (404)", None, None, None, 3, 300
    )
    assert (
        absent.nodes[0].usage_unavailable == "metrics API not available (404)"
        and not absent.metrics_available
    )


def test_top_pods_by_usage_union_of_cpu_and_memory():
    pods = [podlist.parse_pod(pod(n, "n1", containers=[container()])) for n in ("a", "b", "c", "d")]
    usage = {
        ("ns", "a"): podlist.PodUsage("ns", "a", 900, 1),
        ("ns", "b"): podlist.PodUsage("ns", "b", 1, 900),
        ("ns", "c"): podlist.PodUsage("ns", "c", 5, 5),
        ("ns", "d"): podlist.PodUsage("ns", "d", 4, 4),
    }
    top = samples.top_pods(pods, usage, 1)
    assert {p.name for p in top} == {"a", "b"} and all(p.reason == "usage" for p in top)
