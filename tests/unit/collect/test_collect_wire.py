"""The fast decoders (msgspec, worker.collect.wire) read exactly what the forgiving JSON readers read, on real
captured documents and on odd ones; quantities computed in integers equal the client's Decimal parse."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from worker.collect import document, nodelist, podlist, quantities, reader, wire

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "k8s-samples"


def load(name: str) -> dict:
    text = (SAMPLES / name).read_text()
    return yaml.safe_load(text) if name.endswith(".yaml") else json.loads(text)


def raw(doc: object) -> bytes:
    return json.dumps(doc).encode()


def container(requests: dict | None = None, limits: dict | None = None, **extra: object) -> dict:
    res: dict = {}
    if requests is not None:
        res["requests"] = requests
    if limits is not None:
        res["limits"] = limits
    return {"name": "c", "image": "x", "resources": res, **extra}


def pod(name: str, node: str, phase: str = "Running", **spec: object) -> dict:
    return {
        "metadata": {"name": name, "namespace": "ns", "labels": {"app": name}},
        "spec": {"nodeName": node, **spec},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True"}]},
    }


PODS = [
    pod("a", "n1", containers=[container({"cpu": "100m", "memory": "64Mi"}), container({"cpu": "1"})]),
    pod(
        "b",
        "n1",
        containers=[container({"cpu": "200m", "memory": "100Mi"})],
        initContainers=[container({"cpu": "1", "memory": "10Mi"}), container({"memory": "1Gi"})],
    ),
    pod(
        "c",
        "n2",
        containers=[container({"cpu": "500m"})],
        initContainers=[container({"cpu": "100m"}, restartPolicy="Always"), container({"cpu": "550m"})],
        overhead={"cpu": "250m", "memory": "120Mi"},
    ),
    pod(
        "d",
        "n2",
        containers=[container({"cpu": "100m", "memory": "1Gi"})],
        resources={"requests": {"cpu": "2"}},
    ),
    pod(
        "e",
        "n2",
        containers=[container({"cpu": 2, "memory": "1.5Gi"}, {"cpu": "3", "ephemeral-storage": "2Gi"})],
    ),
    pod("done", "n1", "Succeeded", containers=[container({"cpu": "4"})]),
    {
        "metadata": {"name": "pending", "namespace": "ns"},
        "spec": {"containers": [container({"cpu": "8"})]},
        "status": {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/3 nodes are available: 3 Insufficient cpu.",
                }
            ],  # fmt: skip
        },
    },
]


def test_pod_page_matches_the_forgiving_reader() -> None:
    doc = {"kind": "PodList", "apiVersion": "v1", "metadata": {"continue": "tok"}, "items": PODS}
    fast, skipped, token = wire.decode_pod_page(raw(doc))
    slow, slow_skipped = podlist.parse_pods(doc)
    assert fast == slow and skipped == slow_skipped == [] and token == "tok"
    again, _, _ = wire.decode_pod_page(raw(doc))  # the second read comes from the per-containers cache
    assert again == slow


def test_real_kubelet_pod_list_reads_the_same() -> None:
    doc = load("PodList_kubelet-pods-endpoint_minikube-1.35_nri-kubernetes.json")
    fast, _, _ = wire.decode_pod_page(raw(doc))
    assert fast == podlist.parse_pods(doc)[0] and len(fast) > 5


@pytest.mark.parametrize("items", [None, "absent"])
def test_a_list_without_items_is_malformed_not_empty(items: object) -> None:
    doc: dict = {"kind": "PodList", "metadata": {}}
    if items != "absent":
        doc["items"] = items
    with pytest.raises(document.Malformed, match="no items"):
        wire.decode_pod_page(raw(doc))
    with pytest.raises(document.Malformed, match="no items"):
        wire.decode_node_page("c", raw({**doc, "kind": "NodeList"}))
    assert wire.decode_pod_page(raw({"kind": "PodList", "items": []}))[0] == []


def test_an_odd_field_falls_back_to_the_forgiving_reader_and_skips_only_that_pod() -> None:
    odd = pod("odd", "n1", containers=[container({"cpu": {"not": "a quantity"}})])
    doc = {"kind": "PodList", "items": [PODS[0], odd, PODS[3]]}
    with pytest.raises(wire.WireMismatch):
        wire.decode_pod_page(raw(doc))
    pods, skipped, token = reader._pod_page(raw(doc))
    assert [p.name for p in pods] == ["a", "d"] and len(skipped) == 1 and "odd" in skipped[0] and token == ""


def test_not_json_is_said_so() -> None:
    with pytest.raises(wire.WireMismatch) as info:
        wire.decode_pod_page(b"<html>502 Bad Gateway</html>")
    assert info.value.not_json


@pytest.mark.parametrize(
    "name",
    [
        "NodeList_aks-1.19-converted-from-ruby_Docker-Provider.json",
        "NodeList_eks-1.16_qovery-engine.json",
        "NodeList_minikube-1.35-arm64-containerd_nri-kubernetes.yaml",
        "Node_eks-1.29-arm64-AL2-tainted_kubescape-k8s-interface.json",
        "Node_gke-1.10.7_managedkube-cost-agent.json",
        "Node_kind-1.25.3_kubescape-regolibrary.json",
        "Node_minikube-1.15.2_k9s.json",
    ],
)
def test_nodes_of_every_provider_read_the_same(name: str) -> None:
    doc = load(name)
    if "items" not in doc:
        doc = {"kind": "NodeList", "items": [doc]}
    fast, _ = wire.decode_node_page("c", raw(doc))
    assert fast == nodelist.parse_nodes("c", doc) and fast.nodes


def test_node_metrics_read_the_same() -> None:
    doc = load("NodeMetricsList_gke-2021_libcloud.json")
    assert wire.decode_node_metrics(raw(doc)) == nodelist.parse_node_metrics(doc)


@pytest.mark.parametrize(
    "text",
    ["0", "1", "100m", "3920m", "1n", "487558164n", "250u", "2", "1.5", "0.5", "1e3", "15991140Ki", "64Mi",
     "1.5Gi", "5M", "7G", "2Ti", "1k", "12E", "3Pi", "0.1m"],
)  # fmt: skip
def test_integer_quantities_equal_the_decimal_parse(text: str) -> None:
    exact = quantities.quantity(text)
    assert quantities.milli(text) == math.ceil(exact * 1000)  # rounded up, as MilliValue()
    assert quantities.byte_count(text) == math.ceil(exact)
    assert quantities.cpu_millis(text) == pytest.approx(float(exact * Decimal(1000)))


@pytest.mark.parametrize("bad", ["", "abc", "1.2.3", "--1", "Ki"])
def test_bad_quantities_are_malformed(bad: str) -> None:
    with pytest.raises(document.Malformed):
        quantities.milli(bad)
