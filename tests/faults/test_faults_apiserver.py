"""One misbehaving API server, tried for real: a trickled answer, a 100 MB answer, ``items: null``, HTML instead of
JSON, a node with one bad quantity, a closed port.

A stand-in API server (``http.server`` in a thread, on a free port) with a kubeconfig pointing at it; every scan
goes through ``worker.pipeline.run_scan`` — what the Celery task runs — with the stores on the test's own Redis, and
each test asserts what came out: the outcome and its error text, the findings, the notifications stored, the
failure count and the inventory kept.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis

from tests.configs import immediate
from tests.faults.test_faults_version import kubeconfig_for
from worker import clusters, settings
from worker.model import Notification, NotificationKind, Severity, fingerprint
from worker.pipeline import ScanResult, run_scan
from worker.state.store import Stores, connect

CLUSTER = "standin"
NODES = ("n1", "n2", "n3")
MIB = 1024 * 1024
GIB_16 = 16 * 1024 * MIB

# how one path answers: the handler writes the whole response itself
Responder = Callable[[BaseHTTPRequestHandler, threading.Event], None]


def node(name: str, allocatable_memory: object = "16Gi") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"pool": "a"}, "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {},
        "status": {
            "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
            "allocatable": {"cpu": "4", "memory": allocatable_memory, "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
        },
    }


def node_list(*items: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "NodeList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": "7"},
        "items": list(items),
    }


def metrics(memory_bytes: dict[str, int]) -> dict[str, Any]:
    return {
        "kind": "NodeMetricsList",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "items": [
            {"metadata": {"name": n}, "window": "30s", "usage": {"cpu": "100m", "memory": str(m)}}
            for n, m in memory_bytes.items()
        ],
    }


def answer(doc: object, status: int = 200, content_type: str = "application/json") -> Responder:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()

    def respond(h: BaseHTTPRequestHandler, _stop: threading.Event) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return respond


def trickle(doc: object, every_s: float) -> Responder:
    """The whole body announced, then one byte every ``every_s`` seconds (the stop event is the clock, so the
    server ends at once at teardown)."""
    body = json.dumps(doc).encode()

    def respond(h: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        for i in range(len(body)):
            h.wfile.write(body[i : i + 1])
            h.wfile.flush()
            if stop.wait(every_s):
                return

    return respond


def endless(size: int) -> Responder:
    """``size`` bytes of a JSON list, written 1 MiB at a time (never held whole by the server either)."""
    chunk = b'"xxxxxxxxxxxxxxx",' * (MIB // 18)

    def respond(h: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(size))
        h.end_headers()
        h.wfile.write(b"[")
        sent = 1
        while sent + len(chunk) <= size and not stop.is_set():
            h.wfile.write(chunk)
            sent += len(chunk)
        h.wfile.write(b" " * (size - sent))

    return respond


class StandIn:
    """A stand-in API server: ``routes`` maps a path (no query) to how it answers; every request is counted."""

    def __init__(self) -> None:
        self.routes: dict[str, Responder] = {}
        self.requests: list[str] = []
        self.stop = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # the name http.server calls
                path = urlsplit(self.path).path
                outer.requests.append(path)
                respond = outer.routes.get(path) or answer(
                    {"kind": "Status", "status": "Failure", "code": 404, "reason": "NotFound"}, 404
                )
                try:
                    respond(self, outer.stop)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client hung up, as it should past a limit

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def serve_cluster(self, nodes: dict[str, Any], memory: dict[str, int]) -> None:
        """A healthy little cluster: these nodes, no pods, NodeMetrics with these memory figures, no events."""
        self.routes["/api/v1/nodes"] = answer(nodes)
        self.routes["/api/v1/pods"] = answer({"kind": "PodList", "metadata": {}, "items": []})
        self.routes["/apis/metrics.k8s.io/v1beta1/nodes"] = answer(metrics(memory))
        self.routes["/api/v1/events"] = answer({"kind": "EventList", "metadata": {}, "items": []})

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture()
def apiserver() -> Iterator[StandIn]:
    srv = StandIn()
    srv.serve_cluster(node_list(*(node(n) for n in NODES)), dict.fromkeys(NODES, GIB_16 // 10))
    yield srv
    srv.close()


class Scans:
    """run_scan against the stand-in with the immediate timing, on the test's Redis, one simulated minute apart."""

    def __init__(self, kubeconfig: Path, redis_url: str, cfg: dict[str, Any], budget: float = 0.0) -> None:
        self.store = Stores(connect(redis_url))
        self.cfg = settings.parse(immediate({"collect": {"topPods": 0}, **cfg}), env={})
        self.spec = clusters.ClusterSpec(CLUSTER, 60, str(kubeconfig), scan_budget=budget)
        self.now = 1_000_000.0

    def scan(self) -> tuple[ScanResult, list[Notification], float]:
        """One scan: its result, the notifications it queued, and the wall time it took."""
        self.now += 60
        started = time.monotonic()
        result = run_scan(self.store, self.cfg, self.spec, self.now)
        took = time.monotonic() - started
        notes = [self.store.notifications.get(CLUSTER, i) for i in result.sent]
        return result, [n for n in notes if n is not None], took


def active(result: ScanResult) -> dict[tuple[str, str], Severity]:
    return {(f.node, f.rule): f.severity for f in result.findings if f.severity is not None}


def test_an_answer_trickled_a_byte_every_2s_is_cut_at_request_timeout(
    apiserver: StandIn, tmp_path: Path, redis_url: str, redis_client: redis.Redis
) -> None:
    apiserver.routes["/api/v1/nodes"] = trickle(node_list(*(node(n) for n in NODES)), every_s=2)
    scans = Scans(
        kubeconfig_for(apiserver.url, tmp_path / "kc"),
        redis_url,
        {"collect": {"topPods": 0, "requestTimeout": 3}},
    )
    result, notes, took = scans.scan()
    # was: the whole body read at one byte per interval (minutes); now the request's total deadline holds, also
    # while a read waits for the next byte
    assert took < 3 + 1, took
    assert result.outcome == "unreachable" and result.sample is None and notes == []
    assert (
        f"unreachable: {CLUSTER}: GET /api/v1/nodes: answer not complete within 3.0s (collect.requestTimeout)"
        == result.error
    )
    assert scans.store.inventory.failures(CLUSTER) == 1  # a failed scan, counted
    assert apiserver.requests.count("/api/v1/nodes") == 1  # a request sent and timed out is not sent again


def test_a_scan_cut_at_its_budget_counts_as_failed_and_alerts_after_the_failures_allowed(
    apiserver: StandIn, tmp_path: Path, redis_url: str, redis_client: redis.Redis
) -> None:
    apiserver.routes["/api/v1/pods"] = trickle({"kind": "PodList", "metadata": {}, "items": []}, every_s=2)
    scans = Scans(
        kubeconfig_for(apiserver.url, tmp_path / "kc"),
        redis_url,
        {"scanFailuresBeforeAlert": 2, "collect": {"topPods": 0, "requestTimeout": 30}},
        budget=1.5,
    )
    first, notes, took = scans.scan()
    assert took < 1.5 + 1.5, took
    assert first.outcome == "timeout" and notes == []  # 1 failure of the 2 allowed
    assert "scan budget of 1.5s used up after" in first.error and "while listing pods (page 1)" in first.error
    second, notes, took = scans.scan()
    assert took < 1.5 + 1.5, took
    assert second.outcome == "timeout" and scans.store.inventory.failures(CLUSTER) == 2
    (alert,) = notes
    assert (alert.rule, alert.kind, alert.severity) == (
        "cluster_scan_slow",
        NotificationKind.FIRING,
        Severity.CRITICAL,
    )
    assert "listing pods (page 1)" in str(alert.params["reason"]) and alert.params["failures"] == 2


def test_a_100_mb_answer_is_refused_at_the_size_cap_without_holding_it(
    apiserver: StandIn, tmp_path: Path, redis_url: str
) -> None:
    apiserver.routes["/api/v1/nodes"] = endless(100 * 1000 * 1000)
    scans = Scans(
        kubeconfig_for(apiserver.url, tmp_path / "kc"),
        redis_url,
        {"scanFailuresBeforeAlert": 1, "collect": {"topPods": 0, "maxResponseMiB": 8}},
    )
    tracemalloc.start()
    try:
        result, notes, _ = scans.scan()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.outcome == "unreachable"
    assert result.error == (
        f"unreachable: {CLUSTER}: GET /api/v1/nodes: answer larger than 8 MiB (collect.maxResponseMiB): refused"
    )
    assert peak < 40 * MIB, f"{peak / MIB:.0f} MiB held while reading"  # the cap, not the 100 MB
    (alert,) = notes
    assert alert.rule == "cluster_unreachable" and "larger than 8 MiB" in str(alert.params["reason"])


def test_a_node_list_with_items_null_is_a_failed_scan_never_an_empty_cluster(
    apiserver: StandIn, tmp_path: Path, redis_url: str, redis_client: redis.Redis
) -> None:
    scans = Scans(kubeconfig_for(apiserver.url, tmp_path / "kc"), redis_url, {"scanFailuresBeforeAlert": 1})
    good, notes, _ = scans.scan()
    assert good.outcome == "ok" and good.sample is not None and len(good.sample.nodes) == 3 and notes == []
    apiserver.routes["/api/v1/nodes"] = answer({"kind": "NodeList", "metadata": {}, "items": None})
    null, notes, _ = scans.scan()
    assert null.outcome == "unreachable" and null.sample is None
    assert null.error == (
        f"unreachable: {CLUSTER}: GET /api/v1/nodes: the node list has no items (null): refusing to read it as a "
        "cluster without nodes"
    )
    # was: a healthy cluster of 0 nodes, and a "node left the cluster" notice per node to every receiver
    assert [(n.rule, n.kind) for n in notes] == [("cluster_unreachable", NotificationKind.FIRING)]
    assert "no items (null)" in str(notes[0].params["reason"])
    assert not [f for f in null.findings if f.rule == "node_removed"]
    assert scans.store.inventory.failures(CLUSTER) == 1
    assert set(scans.store.inventory.load(CLUSTER)[0] or {}) == set(NODES)  # the last good inventory kept


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (502, b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>", "GET /api/v1/nodes: HTTP 502"),
        (200, b"<!DOCTYPE html><html><title>Sign in</title></html>", "GET /api/v1/nodes: answer is not JSON"),
    ],
    ids=["html-502", "html-200-login-page"],
)
def test_html_instead_of_json_is_an_unreachable_cluster_said_in_one_line(
    apiserver: StandIn, tmp_path: Path, redis_url: str, status: int, body: bytes, said: str
) -> None:
    scans = Scans(kubeconfig_for(apiserver.url, tmp_path / "kc"), redis_url, {"scanFailuresBeforeAlert": 1})
    assert scans.scan()[0].outcome == "ok"
    apiserver.routes["/api/v1/nodes"] = answer(body, status, "text/html")
    result, notes, _ = scans.scan()
    assert result.outcome == "unreachable" and result.error == f"unreachable: {CLUSTER}: {said}"
    assert "<" not in result.error and "\n" not in result.error  # no page, no traceback
    assert [(n.rule, n.kind) for n in notes] == [("cluster_unreachable", NotificationKind.FIRING)]


def test_a_node_with_one_bad_quantity_is_reported_not_dropped_and_its_alerts_are_kept(
    apiserver: StandIn, tmp_path: Path, redis_url: str, redis_client: redis.Redis
) -> None:
    hot = {"n1": GIB_16 // 10, "n2": GIB_16 * 95 // 100, "n3": GIB_16 // 10}  # n2's memory at 95 %
    apiserver.serve_cluster(node_list(*(node(n) for n in NODES)), hot)
    scans = Scans(kubeconfig_for(apiserver.url, tmp_path / "kc"), redis_url, {})
    first, notes, _ = scans.scan()
    assert [(n.node, n.rule, n.kind) for n in notes] == [("n2", "memory_usage", NotificationKind.FIRING)]
    memory_fp = fingerprint(CLUSTER, "n2", "memory_usage")
    before = scans.store.alerts.load(CLUSTER)[memory_fp]
    entry = (scans.store.inventory.load(CLUSTER)[0] or {})["n2"]

    apiserver.routes["/api/v1/nodes"] = answer(node_list(node("n1"), node("n2", "lots"), node("n3")))
    broken, notes, _ = scans.scan()
    assert broken.outcome == "ok" and broken.sample is not None
    assert [n.name for n in broken.sample.nodes] == ["n1", "n3"]
    (why,) = broken.sample.unreadable.values()
    assert (why.field, why.reason) == (
        "status.allocatable.memory",
        "status.allocatable.memory: bad quantity 'lots'",
    )
    # one finding for the node, naming the field and the reason; no "node left", nothing resolved
    (alert,) = notes
    assert (alert.node, alert.rule, alert.kind, alert.severity) == (
        "n2",
        "node_unreadable",
        NotificationKind.FIRING,
        Severity.WARNING,
    )
    assert alert.params["field"] == "status.allocatable.memory"
    assert alert.params["reason"] == "status.allocatable.memory: bad quantity 'lots'"
    assert not [
        f
        for f in broken.findings
        if f.rule == "node_removed" or (f.node == "n2" and f.rule != "node_unreadable")
    ]
    assert active(broken) == {("n2", "node_unreadable"): Severity.WARNING}
    assert scans.store.alerts.load(CLUSTER)[memory_fp] == before  # its memory alert untouched, still firing
    assert (scans.store.inventory.load(CLUSTER)[0] or {})["n2"] == entry  # its inventory entry kept

    apiserver.routes["/api/v1/nodes"] = answer(node_list(*(node(n) for n in NODES)))
    back, notes, _ = scans.scan()
    assert [(n.node, n.rule, n.kind) for n in notes] == [("n2", "node_unreadable", NotificationKind.RESOLVED)]
    assert active(back) == {("n2", "memory_usage"): Severity.CRITICAL}  # the same alert, never closed
    assert scans.store.alerts.load(CLUSTER)[memory_fp].since == before.since
    assert not [f for f in back.findings if f.rule == "node_added" and f.severity is not None]


def test_a_refused_connection_names_host_port_and_cause(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis
) -> None:
    with socket.socket() as s:  # a port nothing listens on: bound, then closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    scans = Scans(kubeconfig_for(f"http://127.0.0.1:{port}", tmp_path / "kc"), redis_url, {})
    result, notes, took = scans.scan()
    assert result.outcome == "unreachable" and notes == [] and took < 5
    assert result.error == (
        f"unreachable: {CLUSTER}: GET /api/v1/nodes: 127.0.0.1:{port}: [Errno 111] Connection refused"
    ), result.error
    assert scans.store.inventory.failures(CLUSTER) == 1
