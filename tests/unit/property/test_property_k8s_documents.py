"""Property: every reader of a Kubernetes answer (the msgspec decoders, the collector's forgiving fallbacks and the
plain parsers) takes any document without raising anything but its documented errors, and one bad object in a
list never stops the others from being read — they come out exactly as they do without it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from helpers_property import PROPERTY, bad_quantity, json_values, k8s_documents, load, mutated, raw, samples
from hypothesis import given
from hypothesis import strategies as st

from worker.collect import document, eventlist, kubelet, nodelist, podlist, reader, wire

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DOCUMENTED = (wire.WireMismatch, document.Malformed)


def _nodes() -> list[dict[str, Any]]:
    """The providers' node documents of tests/fixtures/k8s-samples, one list, renamed n0..n6."""
    out = []
    for name in samples("Node"):
        doc = load(name)
        for item in doc["items"] if "items" in doc else [doc]:
            item = copy.deepcopy(item)
            item.pop("kind", None)
            item.pop("apiVersion", None)
            item["metadata"]["name"] = f"n{len(out)}"
            out.append(item)
    return out


NODES = _nodes()
PODS = load("PodList_kubelet-pods-endpoint_minikube-1.35_nri-kubernetes.json")["items"][:8]
NODE_METRICS = [
    load("NodeMetrics_minikube-2022_kubernetes-website.json"),
    *load("NodeMetricsList_gke-2021_libcloud.json")["items"],
]
POD_METRICS = load("PodMetricsList_gke-2021_libcloud.json")["items"]
SUMMARY = load("StatsSummary_minikube-1.31-arm64_nri-kubernetes.json")
EVENTS = [
    {
        "metadata": {"name": f"e{i}", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "namespace": "default", "name": f"p{i}"},
        "reason": "FailedScheduling",
        "message": f"0/3 nodes are available: {i} Insufficient cpu.",
        "lastTimestamp": "2026-03-01T11:59:00Z",
    }
    for i in range(4)
]

Page = Callable[[bytes], Any]
PAGE_READERS: dict[str, Page] = {
    "wire.decode_pod_page": wire.decode_pod_page,
    "wire.decode_node_page": lambda b: wire.decode_node_page("c", b),
    "wire.decode_node_metrics": wire.decode_node_metrics,
    "reader._pod_page": reader._pod_page,
    "reader._node_page": reader._node_page("c"),
}
DOC_READERS: dict[str, Callable[[Any], Any]] = {
    "parse_nodes": lambda d: nodelist.parse_nodes("c", d),
    "parse_pods": podlist.parse_pods,
    "parse_node_metrics": nodelist.parse_node_metrics,
    "parse_pod_metrics": podlist.parse_pod_metrics,
    "parse_events": lambda d: eventlist.parse_events(d, NOW, 3600),
    "parse_summary": kubelet.parse_summary,
    "parse_summary_pods": kubelet.parse_summary_pods,
}
any_bytes = (
    st.builds(raw, k8s_documents | json_values)
    | st.binary(max_size=200)
    | st.builds(lambda items: raw({"kind": "List", "items": items}), st.lists(k8s_documents, max_size=3))
)


@PROPERTY
@given(body=any_bytes)
def test_every_page_reader_takes_any_answer_or_refuses_it_with_a_documented_error(body: bytes) -> None:
    for read in PAGE_READERS.values():
        try:
            read(body)
        except DOCUMENTED:
            pass


@PROPERTY
@given(doc=k8s_documents)
def test_every_parser_takes_any_document_or_refuses_it_with_malformed(doc: dict[str, Any]) -> None:
    for read in DOC_READERS.values():
        try:
            read(doc)
        except document.Malformed:
            pass


MUTATED_BASES = {
    "parse_summary": SUMMARY,
    "parse_summary_pods": SUMMARY,
    "parse_node_metrics": {"kind": "NodeMetricsList", "items": NODE_METRICS},
    "parse_pod_metrics": {"kind": "PodMetricsList", "items": POD_METRICS},
    "parse_events": {"kind": "EventList", "items": EVENTS},
}


@PROPERTY
@given(name=st.sampled_from(sorted(MUTATED_BASES)), data=st.data())
def test_a_mutated_real_document_is_read_or_refused_with_malformed(name: str, data: st.DataObject) -> None:
    try:
        DOC_READERS[name](data.draw(mutated(MUTATED_BASES[name])))
    except document.Malformed:
        pass


def _one_mutated(data: st.DataObject, items: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    index = data.draw(st.integers(0, len(items) - 1))
    out = list(items)
    out[index] = data.draw(mutated(items[index]) | bad_quantity(items[index]))
    return index, out


@PROPERTY
@given(data=st.data())
def test_one_bad_node_never_stops_the_others_and_is_named_when_it_has_a_name(data: st.DataObject) -> None:
    baseline = {
        n.name: n for n in reader._node_page("c")(raw({"kind": "NodeList", "items": NODES}))[0][0].nodes
    }
    index, items = _one_mutated(data, NODES)
    (page,), skipped, _ = reader._node_page("c")(raw({"kind": "NodeList", "items": items}))
    assert len(page.nodes) + len(page.skipped) == len(items) and skipped == page.skipped
    read = {n.name: n for n in page.nodes}
    name = _name_of(items[index])
    for i, item in enumerate(NODES):
        if i != index and item["metadata"]["name"] != name:
            assert read[item["metadata"]["name"]] == baseline[item["metadata"]["name"]]
    if page.skipped and isinstance(name, str) and name:
        assert name in page.unreadable and page.unreadable[name].reason in page.skipped[0]


@PROPERTY
@given(data=st.data())
def test_one_bad_pod_never_stops_the_others(data: st.DataObject) -> None:
    def key(p: podlist.PodInfo) -> tuple[str, str]:
        return p.namespace, p.name

    baseline = {key(p): p for p in reader._pod_page(raw({"kind": "PodList", "items": PODS}))[0]}
    index, items = _one_mutated(data, PODS)
    pods, skipped, _ = reader._pod_page(raw({"kind": "PodList", "items": items}))
    assert len(pods) + len(skipped) == len(items)
    read = {key(p): p for p in pods}
    for i, item in enumerate(PODS):
        if i != index and item["metadata"]["name"] != _name_of(items[index]):
            meta = item["metadata"]
            assert read[(meta["namespace"], meta["name"])] == baseline[(meta["namespace"], meta["name"])]


@PROPERTY
@given(data=st.data())
def test_one_bad_node_metrics_item_never_stops_the_others(data: st.DataObject) -> None:
    baseline, _ = nodelist.parse_node_metrics({"items": NODE_METRICS})
    index, items = _one_mutated(data, NODE_METRICS)
    body = raw({"kind": "NodeMetricsList", "items": items})
    try:
        usage, _ = wire.decode_node_metrics(body)
    except wire.WireMismatch:
        usage, _ = nodelist.parse_node_metrics(reader._json_page(body))  # the collector's fallback
    for i, item in enumerate(NODE_METRICS):
        name = item["metadata"]["name"]
        if i != index and name != _name_of(items[index]):
            assert usage[name] == baseline[name]


@PROPERTY
@given(data=st.data())
def test_one_bad_pod_metrics_item_or_event_never_stops_the_others(data: st.DataObject) -> None:
    baseline, _ = podlist.parse_pod_metrics({"items": POD_METRICS})
    index, items = _one_mutated(data, POD_METRICS)
    pods, skipped = podlist.parse_pod_metrics({"items": items})
    assert len(pods) + len(skipped) == len(items)
    assert all(p in pods for i, p in enumerate(baseline) if i != index)
    index, events = _one_mutated(data, EVENTS)
    facts, _ = eventlist.parse_events({"items": events}, NOW, 3600)
    for i in range(len(EVENTS)):
        if i != index and ("default", f"p{i}") != _target_of(events[index]):
            assert facts.failed_scheduling[("default", f"p{i}")] == EVENTS[i]["message"]


@PROPERTY
@given(data=st.data())
def test_one_bad_pod_in_a_kubelet_summary_never_loses_the_others(data: st.DataObject) -> None:
    baseline = kubelet.parse_summary_pods(SUMMARY)
    pods = SUMMARY["pods"]
    index, items = _one_mutated(data, pods)
    got = kubelet.parse_summary_pods({**SUMMARY, "pods": items})
    others = {(p.namespace, p.name) for i, p in enumerate(baseline) if i != index}
    assert others <= {(p.namespace, p.name) for p in got}


def _name_of(item: object) -> object:
    meta = item.get("metadata") if isinstance(item, dict) else None
    return meta.get("name") if isinstance(meta, dict) else None


def _target_of(event: object) -> object:
    target = event.get("involvedObject") if isinstance(event, dict) else None
    if not isinstance(target, dict):
        return None
    return target.get("namespace"), target.get("name")


@pytest.mark.parametrize(
    "number", [b"1e400", b"-1e400", b"123456789012345678901234567890123456789", b"1e-400"]
)
def test_a_number_past_a_float_costs_one_node_or_pod_not_the_list(number: bytes) -> None:
    nodes = raw({"kind": "NodeList", "items": NODES[:3]}).replace(
        b'"memory": "', b'"memory": ' + number + b', "x": "', 1
    )
    (page,), _, _ = reader._node_page("c")(nodes)
    assert {n.name for n in page.nodes} | set(page.unreadable) == {"n0", "n1", "n2"}
    assert len(page.nodes) >= 2
    pods = raw({"kind": "PodList", "items": PODS}).replace(b'"cpu": "', b'"cpu": ' + number + b', "x": "', 1)
    read, skipped, _ = reader._pod_page(pods)
    assert len(read) + len(skipped) == len(PODS) and len(read) >= len(PODS) - 1
