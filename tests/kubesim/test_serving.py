# mypy: disable-error-code="union-attr,index,operator,arg-type,type-var,misc"
"""Serving large clusters: gzip as kube-apiserver negotiates it, list pages cached per resourceVersion, traffic."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
import requests
import yaml
from kubernetes import client

from kubesim import encoding
from kubesim.testing import KubesimProcess
from tests.kubesim.helpers import api_client

NON_TERMINAL = "status.phase!=Succeeded,status.phase!=Failed"


class Raw:
    """GETs with the cluster's token, returning the body exactly as it came over the wire."""

    def __init__(self, sim: KubesimProcess, cluster: str) -> None:
        doc = yaml.safe_load(sim.kubeconfigs[cluster].read_text())
        self.base = doc["clusters"][0]["cluster"]["server"]
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {doc['users'][0]['user']['token']}"

    def get(self, path: str, gzip_ok: bool = False, **params: Any) -> tuple[requests.Response, bytes]:
        headers = {"Accept-Encoding": "gzip" if gzip_ok else "identity"}
        resp = self.session.get(f"{self.base}{path}", params=params, headers=headers, stream=True, timeout=30)
        wire = resp.raw.read(decode_content=False)
        assert resp.status_code == 200, wire[:300]
        return resp, wire


def decoded(resp: requests.Response, wire: bytes) -> bytes:
    return gzip.decompress(wire) if resp.headers.get("Content-Encoding") == "gzip" else wire


def cache_stats(sim: KubesimProcess) -> dict[str, int]:
    return dict(sim.control.call("GET", "")["page_cache"])


@pytest.fixture(scope="module")
def sim() -> Any:
    # 12 nodes x 30 pods: a full pod list is ~900 KB, a page of a few pods a few KB
    with KubesimProcess(nodes=12, pods_per_node=30, speed=0) as proc:
        yield proc


@pytest.mark.parametrize(
    ("header", "wanted"),
    [("gzip", True), ("deflate, gzip", True), (" gzip ,br", True), ("identity", False), ("", False),
     ("gzip;q=0.5", False), ("x-gzip", False)],
)  # fmt: skip
def test_accept_encoding_is_read_as_the_api_server_reads_it(header: str, wanted: bool) -> None:
    assert encoding.accepts_gzip(header) is wanted


def test_gzip_only_above_128_kib_and_only_when_asked(sim: KubesimProcess) -> None:
    raw = Raw(sim, "sim-1")
    # the largest page that stays at or under the threshold, and the next one, which does not
    sizes = {n: len(raw.get("/api/v1/pods", limit=n)[1]) for n in range(30, 80)}
    small = max(n for n, size in sizes.items() if size <= encoding.THRESHOLD)
    assert sizes[small + 1] > encoding.THRESHOLD

    resp, wire = raw.get("/api/v1/pods", gzip_ok=True, limit=small)
    assert "Content-Encoding" not in resp.headers and len(wire) == sizes[small]

    resp, wire = raw.get("/api/v1/pods", gzip_ok=True, limit=small + 1)
    assert resp.headers["Content-Encoding"] == "gzip" and resp.headers["Vary"] == "Accept-Encoding"
    assert int(resp.headers["Content-Length"]) == len(wire) < sizes[small + 1] // 5
    plain = gzip.decompress(wire)
    assert len(plain) == sizes[small + 1] and len(json.loads(plain)["items"]) == small + 1

    resp, wire = raw.get("/api/v1/pods", limit=small + 1)  # not asked: as it is
    assert "Content-Encoding" not in resp.headers and len(wire) == sizes[small + 1]


def test_watch_streams_are_never_gzipped(sim: KubesimProcess) -> None:
    raw = Raw(sim, "sim-1")
    with raw.session.get(
        f"{raw.base}/api/v1/pods",
        params={"watch": "true", "timeoutSeconds": "5"},
        headers={"Accept-Encoding": "gzip"},
        stream=True,
        timeout=30,
    ) as resp:
        assert resp.headers["Transfer-Encoding"] == "chunked" and "Content-Encoding" not in resp.headers
        first = next(resp.iter_lines())  # the initial ADDED events (~900 KB) come as one chunk, plain
        assert json.loads(first)["type"] == "ADDED"


def test_official_client_decodes_gzip_transparently(sim: KubesimProcess) -> None:
    v1 = client.CoreV1Api(api_client(sim.kubeconfigs["sim-1"]))
    pods, status, headers = v1.list_pod_for_all_namespaces_with_http_info(
        _headers={"Accept-Encoding": "gzip"}
    )
    assert headers["Content-Encoding"] == "gzip"
    assert len(pods.items) == 360 and all(p.spec.node_name for p in pods.items)


def test_a_cached_page_is_never_served_stale(sim: KubesimProcess) -> None:
    raw = Raw(sim, "sim-1")

    def page(**params: Any) -> dict[str, Any]:
        resp, wire = raw.get("/api/v1/pods", gzip_ok=True, fieldSelector=NON_TERMINAL, limit=100, **params)
        return dict(json.loads(decoded(resp, wire)))

    first = page(resourceVersion="0")
    token = first["metadata"]["continue"]
    second = page(**{"continue": token})
    before = cache_stats(sim)
    assert page(resourceVersion="0") == first and page(**{"continue": token}) == second
    assert cache_stats(sim)["hits"] == before["hits"] + 2

    # node status moves the cluster's resourceVersion but not the pods': pod pages stay cached
    sim.control.set_node("sim-1", "sim-1-pool-2", ready="False")
    before = cache_stats(sim)
    assert page(resourceVersion="0") == first
    assert cache_stats(sim)["hits"] == before["hits"] + 1

    # a pod on the second page is evicted: that page, read with the token from before, no longer lists it
    victim = second["items"][0]
    sim.control.evict("sim-1", victim["spec"]["nodeName"], count=30)
    again = page(**{"continue": token})
    names = {p["metadata"]["name"] for p in again["items"]}
    assert victim["metadata"]["name"] not in names and all(
        p["status"]["phase"] == "Running" for p in again["items"]
    )

    # a pod added is in the next full list, at a newer resourceVersion
    added = sim.control.add_pods("sim-1", "sim-1-pool-1", 1)
    resp, wire = raw.get("/api/v1/pods", gzip_ok=True, fieldSelector=NON_TERMINAL)
    full = json.loads(decoded(resp, wire))
    assert added[0] in {p["metadata"]["name"] for p in full["items"]}
    assert int(full["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])


def test_pod_metrics_of_one_pod_is_its_entry_in_the_list(sim: KubesimProcess) -> None:
    raw = Raw(sim, "sim-1")
    resp, wire = raw.get("/apis/metrics.k8s.io/v1beta1/pods", gzip_ok=True)
    listed = json.loads(decoded(resp, wire))["items"]
    assert len(listed) >= 300 and all(item["kind"] == "PodMetrics" for item in listed)
    last = listed[-1]["metadata"]
    _, one = raw.get(f"/apis/metrics.k8s.io/v1beta1/namespaces/{last['namespace']}/pods/{last['name']}")
    assert json.loads(one) == listed[-1]
    missing = raw.session.get(
        f"{raw.base}/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope", timeout=30
    )
    assert missing.status_code == 404 and missing.json()["reason"] == "NotFound"


def test_traffic_counters_count_and_reset(kubesim_factory: Any) -> None:
    sim = kubesim_factory(nodes=12, pods_per_node=30, speed=0)
    raw = Raw(sim, "sim-1")
    sim.control.reset_traffic("sim-1")
    calls = {
        "pods": [("/api/v1/pods", True), ("/api/v1/namespaces/default/pods", False)],
        "nodes": [("/api/v1/nodes", False)],
        "metrics_nodes": [("/apis/metrics.k8s.io/v1beta1/nodes", True)],
        "metrics_pods": [("/apis/metrics.k8s.io/v1beta1/pods", True)],
        "summary": [("/api/v1/nodes/sim-1-pool-1/proxy/stats/summary", False)],
        "events": [("/api/v1/events", False)],
        "other": [("/version", False), ("/api/v1/namespaces", False)],
    }
    expected: dict[str, dict[str, int]] = {}
    for kind, paths in calls.items():
        for path, gzip_ok in paths:
            resp, wire = raw.get(path, gzip_ok=gzip_ok)
            counts = expected.setdefault(kind, {"requests": 0, "bytes": 0, "raw_bytes": 0})
            counts["requests"] += 1
            counts["bytes"] += len(wire)
            counts["raw_bytes"] += len(decoded(resp, wire))
    with raw.session.get(f"{raw.base}/api/v1/nodes", params={"watch": "1"}, stream=True, timeout=30) as resp:
        stream = resp.iter_lines()
        lines = [next(stream) for _ in range(12)]  # the initial events: one chunk
    expected["nodes"]["requests"] += 1
    expected["nodes"]["bytes"] += sum(len(line) + 1 for line in lines)
    expected["nodes"]["raw_bytes"] += sum(len(line) + 1 for line in lines)

    got = sim.control.traffic("sim-1")
    assert {kind: got["by_path"][kind] for kind in expected} == expected
    assert got["requests"] == 10 and got["bytes"] == sum(c["bytes"] for c in expected.values())
    assert got["by_path"]["pods"]["bytes"] < got["by_path"]["pods"]["raw_bytes"]  # the gzipped full list
    assert sim.control.reset_traffic("sim-1") == got
    assert sim.control.traffic("sim-1")["requests"] == 0
