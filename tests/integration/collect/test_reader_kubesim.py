"""read_cluster against a real kubesim process: paging, one pod list per scan, degraded reads, typed errors."""

from __future__ import annotations

import math
import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import yaml
from kubernetes.client import ApiClient
from kubernetes.config import new_client_from_config

from kubesim.testing import KubesimProcess
from worker.collect import errors, reader
from worker.collect.options import CollectOptions
from worker.model import ClusterSample, Severity
from worker.model.thresholds import Thresholds
from worker.rules.evaluate import evaluate

CLUSTER = "sim-1"


class Recorder:
    """Counts the requests the reader makes (kubesim keeps no request counter of its own)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def __call__(self, path: str, status: int, seconds: float) -> None:
        self.calls.append((path, status))

    def paths(self, prefix: str) -> list[str]:
        return [p for p, _ in self.calls if p.startswith(prefix)]


@pytest.fixture(scope="module")
def sim() -> Iterator[KubesimProcess]:
    with KubesimProcess(nodes=23, pods_per_node=4, speed=0) as proc:
        yield proc


@pytest.fixture()
def api(sim: KubesimProcess) -> Iterator[ApiClient]:
    client = new_client_from_config(config_file=str(sim.kubeconfigs[CLUSTER]))
    yield client
    client.close()
    sim.control.clear_faults(CLUSTER)
    sim.control.set_token_permissions(CLUSTER, deny=[])


def sim_now(sim: KubesimProcess) -> datetime:
    return datetime.fromtimestamp(sim.control.now(), UTC)


def scan(sim: KubesimProcess, api: ApiClient, **options: object) -> tuple[ClusterSample, Recorder]:
    rec = Recorder()
    opts = CollectOptions(on_request=rec, **options)  # type: ignore[arg-type]
    return reader.read_cluster(api, CLUSTER, sim_now(sim), opts), rec


def test_paging_and_one_pod_list_per_scan(sim, api):
    sample, rec = scan(sim, api, page_size=5)
    assert len(sample.nodes) == 23 and not sample.skipped
    assert rec.paths("/api/v1/nodes").count("/api/v1/nodes") == math.ceil(23 / 5)
    # every pod request is a page of the one cluster-wide list, never a per-node list
    pod_calls = rec.paths("/api/v1/pods")
    assert pod_calls and all(p == "/api/v1/pods" for p in pod_calls)
    total_pods = sum(n.pod_count for n in sample.nodes)
    assert len(pod_calls) == max(1, math.ceil(total_pods / 5))
    _, rec = scan(sim, api)  # default page size: one request for all pods
    assert len(rec.paths("/api/v1/pods")) == 1
    assert len(rec.paths("/apis/metrics.k8s.io/v1beta1/nodes")) == 1


def test_expired_continue_token_restarts_the_list_once(sim, api):
    rec = Recorder()
    compacted: list[str] = []

    def compact_after_first_page(path: str, status: int, seconds: float) -> None:
        rec(path, status, seconds)
        if path == "/api/v1/pods" and not compacted:
            compacted.append(sim.control.compact(CLUSTER))

    opts = CollectOptions(page_size=10, on_request=compact_after_first_page)
    sample = reader.read_cluster(api, CLUSTER, sim_now(sim), opts)
    statuses = [status for path, status in rec.calls if path == "/api/v1/pods"]
    assert 410 in statuses and statuses[-1] == 200
    assert sum(n.pod_count for n in sample.nodes) == sum(
        sim.control.node(CLUSTER, n.name)["pods"] for n in sample.nodes
    )


def test_figures_match_the_simulator(sim, api):
    sample, _ = scan(sim, api)
    node = sample.nodes[0]
    state = sim.control.node(CLUSTER, node.name)
    assert node.pod_count == state["pods"]
    assert node.requests.cpu_m > 0 and node.requests.memory > 0
    assert node.usage is not None and node.cpu_pct is not None
    assert node.top_pods and node.top_pods[0].reason == "usage"
    assert node.disk is None and "disabled" in node.disk_unavailable
    assert sample.metrics_available and not sample.warnings


def test_metrics_absent_degrades_with_one_warning(sim, api):
    sim.control.fault(CLUSTER, "metrics_absent")
    sample, rec = scan(sim, api)
    assert all(n.usage is None and "not available (404)" in n.usage_unavailable for n in sample.nodes)
    assert len(sample.warnings) == 1 and "metrics API" in sample.warnings[0]
    assert not sample.metrics_available
    assert not rec.paths("/apis/metrics.k8s.io/v1beta1/pods")  # no PodMetrics read without NodeMetrics
    findings = evaluate(sample, lambda _n: Thresholds(), {}, sim_now(sim))
    rules = {f.rule for f in findings}
    assert "cpu_usage" not in rules and {"node_not_ready", "cpu_requests"} <= rules


def test_summary_forbidden_reported_once(sim, api):
    sim.control.set_token_permissions(CLUSTER, deny=["nodes/proxy"])
    sample, _ = scan(sim, api, disk_stats=True, disk_concurrency=4)
    assert all(n.disk is None and "forbidden (403)" in n.disk_unavailable for n in sample.nodes)
    summary_warnings = [w for w in sample.warnings if "kubelet summary" in w]
    assert len(summary_warnings) == 1 and "on 23 node(s)" in summary_warnings[0]
    assert "nodes/proxy" in summary_warnings[0]


def test_disk_filling_past_warning_then_critical(sim, api):
    name = f"{CLUSTER}-pool-1"
    firing: dict[str, Severity] = {}
    seen = []
    for fraction in (0.5, 0.84, 0.95):
        sim.control.set_node(CLUSTER, name, disk=fraction)
        sample, _ = scan(sim, api, disk_stats=True)
        node = next(n for n in sample.nodes if n.name == name)
        assert node.disk is not None and node.disk.nodefs is not None
        findings = evaluate(sample, lambda _n: Thresholds(), firing, sim_now(sim))
        disk = next(f for f in findings if f.node == name and f.rule == "disk_nodefs")
        seen.append(disk.severity)
        firing = {f.fingerprint: f.severity for f in findings if f.severity is not None}
    assert seen == [None, Severity.WARNING, Severity.CRITICAL]


def test_requests_without_headroom_alert_while_usage_is_low(sim, api):
    name = f"{CLUSTER}-pool-2"
    sim.control.set_node(CLUSTER, name, cpu=0.05, memory=0.05)
    sample, _ = scan(sim, api)
    node = next(n for n in sample.nodes if n.name == name)
    free_gi = (node.allocatable.memory - node.requests.memory) / 1024**3
    sim.control.add_pods(CLUSTER, name, 1, cpu="10m", memory=f"{max(free_gi - 0.5, 0.1):.2f}Gi")
    message = "0/23 nodes are available: 23 Insufficient memory."
    pending = sim.control.add_pending_pods(CLUSTER, 2, message)
    sample, _ = scan(sim, api)
    node = next(n for n in sample.nodes if n.name == name)
    assert node.memory_pct is not None and node.memory_pct < 20
    findings = evaluate(sample, lambda _n: Thresholds(), {}, sim_now(sim))
    memory = next(f for f in findings if f.node == name and f.rule == "memory_requests")
    assert memory.severity == Severity.CRITICAL
    assert memory.summary.startswith("2 pod(s) Pending: Insufficient memory")
    assert pending[0] in memory.summary
    usage = next(f for f in findings if f.node == name and f.rule == "memory_usage")
    assert usage.severity is None


def test_evictions_are_linked_to_the_node(sim, api):
    name = f"{CLUSTER}-pool-3"
    evicted = sim.control.evict(CLUSTER, name, 2)
    sample, _ = scan(sim, api)
    assert sorted(p.name for p in sample.evicted_pods.get(name, ())) == sorted(evicted)


def test_unauthorized_is_credentials_rejected_without_the_token(sim, api):
    token = yaml.safe_load(sim.kubeconfigs[CLUSTER].read_text())["users"][0]["user"]["token"]
    sim.control.fault(CLUSTER, "unauthorized")
    with pytest.raises(errors.CredentialsRejected) as caught:
        scan(sim, api)
    assert "401" in str(caught.value) and token not in str(caught.value)


def test_forbidden_node_list_is_credentials_rejected(sim, api):
    sim.control.set_token_permissions(CLUSTER, deny=["nodes"])
    with pytest.raises(errors.CredentialsRejected, match="forbidden \\(403\\)"):
        scan(sim, api)


def test_unreachable_port_is_cluster_unreachable(sim, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    config = yaml.safe_load(sim.kubeconfigs[CLUSTER].read_text())
    config["clusters"][0]["cluster"]["server"] = f"http://127.0.0.1:{port}/clusters/{CLUSTER}"
    path = tmp_path / "dead.yaml"
    path.write_text(yaml.safe_dump(config))
    client = new_client_from_config(config_file=str(path))
    try:
        with pytest.raises(errors.ClusterUnreachable, match="GET /api/v1/nodes") as caught:
            reader.read_cluster(client, CLUSTER, datetime.now(UTC), CollectOptions(request_timeout=2))
        assert config["users"][0]["user"]["token"] not in str(caught.value)
    finally:
        client.close()


def test_stale_metrics_read_as_unavailable(sim, api):
    sim.control.fault(CLUSTER, "metrics_stale")
    sim.control.advance(600)
    sample, _ = scan(sim, api)
    assert all(n.usage is None and "stale" in n.usage_unavailable for n in sample.nodes)
    assert len([w for w in sample.warnings if "stale" in w]) == 1
