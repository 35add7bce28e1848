"""The scan pipeline on kubesim scenarios: collect -> rules -> lifecycle -> Redis commit, without Celery.

``run_scan`` is what the Celery task runs; here it is called directly with an explicit ``now`` so each step is
one scan. Real kubesim over HTTP, real Redis.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.configs import immediate
from worker import clusters, settings
from worker.model import Notification
from worker.pipeline import ScanResult, run_scan
from worker.state.store import Stores

CLUSTER = "sim-1"
N1, N2, N3 = (f"{CLUSTER}-pool-{i}" for i in (1, 2, 3))
NODEWATCH = str(Path(sys.executable).with_name("nodewatch"))


class Pipeline:
    def __init__(self, sim: Any, store: Stores, **cfg: Any) -> None:
        self.sim = sim
        self.store = store
        self.cfg = settings.parse(immediate(cfg), env={})
        self.spec = clusters.ClusterSpec(CLUSTER, 60, str(sim.kubeconfigs[CLUSTER]))
        self.now = 1_000_000.0

    def scan(self, step: float = 60) -> ScanResult:
        self.now += step
        self.sim.control.advance(20)  # past metrics-server's next 15 s scrape, as between two real scans
        return run_scan(self.store, self.cfg, self.spec, self.now)

    def sent(self, result: ScanResult) -> list[Notification]:
        out = [self.store.notifications.get(CLUSTER, nid) for nid in result.sent]
        return [n for n in out if n is not None]

    def active(self, result: ScanResult, node: str | None = None) -> dict[str, str]:
        return {
            f.rule: f.severity.label
            for f in result.findings
            if f.severity is not None and (node is None or f.node == node)
        }


@pytest.fixture()
def pipeline(kubesim_factory: Callable[..., Any], redis_client: redis.Redis) -> Callable[..., Pipeline]:
    sim = kubesim_factory(clusters=1, nodes=3, pods_per_node=0)
    for node in (N1, N2, N3):
        sim.control.set_node(CLUSTER, node, cpu=0.1, memory=0.1, disk=0.3, ready="True")
    return lambda **cfg: Pipeline(sim, Stores(redis_client), **cfg)


def test_calm_cluster_sends_nothing(pipeline: Callable[..., Pipeline]) -> None:
    p = pipeline(collect={"diskStats": True})
    for _ in range(3):
        result = p.scan()
        assert result.outcome == "ok" and p.sent(result) == []
    assert p.active(result) == {}


def test_disk_filling_warns_then_escalates_then_resolves(pipeline: Callable[..., Pipeline]) -> None:
    p = pipeline(collect={"diskStats": True})
    p.scan()
    p.sim.control.set_node(CLUSTER, N1, disk=0.82)
    (warn,) = p.sent(p.scan())
    assert warn.rule.startswith("disk_") and warn.severity.label == "warning" and warn.node == N1
    assert warn.params["value"] == pytest.approx(82, abs=1)
    assert p.sent(p.scan()) == []  # still 80 %: nothing new
    p.sim.control.set_node(CLUSTER, N1, disk=0.89)  # below 90 %, where kubesim adds DiskPressure
    (crit,) = p.sent(p.scan())
    assert crit.kind.value == "escalated" and crit.severity.label == "critical" and crit.rule == warn.rule
    p.sim.control.set_node(CLUSTER, N1, disk=0.4)
    (res,) = p.sent(p.scan())
    assert res.kind.value == "resolved" and res.rule == warn.rule


def test_requests_without_headroom_alert_while_usage_is_low(pipeline: Callable[..., Pipeline]) -> None:
    p = pipeline()
    first = p.scan()
    node = next(n for n in first.sample.nodes if n.name == N2)  # type: ignore[union-attr]
    count = int(node.allocatable.cpu_m // 500)  # fill the node's CPU with 500m requests
    p.sim.control.add_pods(CLUSTER, N2, count, cpu="500m", memory="64Mi")
    result = p.scan()
    active = p.active(result, N2)
    assert active.get("cpu_requests") == "warning", active
    assert "cpu_usage" not in active  # usage is 10 %: the alert is about allocation
    (note,) = [n for n in p.sent(result) if n.node == N2]
    assert note.rule == "cpu_requests" and "headroom" in note.summary


def test_pending_pods_are_named_in_the_alert(pipeline: Callable[..., Pipeline]) -> None:
    p = pipeline()
    first = p.scan()
    for n in first.sample.nodes:  # type: ignore[union-attr]
        p.sim.control.add_pods(CLUSTER, n.name, int(n.allocatable.memory // 2**30), cpu="10m", memory="1Gi")
    names = p.sim.control.add_pending_pods(CLUSTER, 3, "0/3 nodes are available: 3 Insufficient memory.")
    result = p.scan()
    # three nodes at once: one grouped (storm) message lists them, each with the pending pods named
    (note,) = [n for n in p.sent(result) if n.rule == "memory_requests"]
    assert note.node == "" and note.severity.label == "critical"
    members = note.params["group"]
    assert isinstance(members, list) and {m["node"] for m in members} == {N1, N2, N3}
    for m in members:
        assert m["severity"] == "critical"
        assert "3 pod(s) Pending: Insufficient memory" in m["summary"] and names[0] in m["summary"]


def test_metrics_outage_degrades_once_and_keeps_usage_alerts(pipeline: Callable[..., Pipeline]) -> None:
    p = pipeline()
    p.sim.control.set_node(CLUSTER, N3, cpu=0.95)
    (cpu,) = p.sent(p.scan())
    assert cpu.rule == "cpu_usage"
    p.sim.control.fault(CLUSTER, "metrics_absent")
    p.sim.control.set_node(CLUSTER, N1, ready="False")
    result = p.scan()
    assert result.outcome == "ok"
    sent = p.sent(result)
    # conditions still checked; the outage said once, at cluster level; the cpu alert not falsely resolved
    assert sorted(n.rule for n in sent) == ["cluster_degraded", "node_not_ready"]
    degraded = next(n for n in sent if n.rule == "cluster_degraded")
    assert "metrics API" in degraded.summary and "404" in degraded.summary
    assert all(n.kind.value != "resolved" for n in sent)
    assert p.sent(p.scan()) == []  # the next scans add nothing
    p.sim.control.clear_faults(CLUSTER)
    p.sim.control.set_node(CLUSTER, N3, cpu=0.1)
    kinds = sorted((n.rule, n.kind.value) for n in p.sent(p.scan()))
    assert ("cluster_degraded", "resolved") in kinds and ("cpu_usage", "resolved") in kinds


def test_summary_forbidden_is_reported_once_for_the_cluster(pipeline: Callable[..., Pipeline]) -> None:
    p = pipeline(collect={"diskStats": True})
    p.sim.control.set_token_permissions(CLUSTER, deny=["nodes/proxy"])
    p.sim.control.set_node(CLUSTER, N1, conditions={"DiskPressure": "True"})
    result = p.scan()
    sent = p.sent(result)
    assert sorted(n.rule for n in sent) == ["cluster_degraded", "disk_pressure"]
    degraded = next(n for n in sent if n.rule == "cluster_degraded")
    assert "403" in degraded.summary and "nodes/proxy" in degraded.summary and "3 node(s)" in degraded.summary
    for n in result.sample.nodes:  # type: ignore[union-attr]
        assert "403" in n.disk_unavailable
    assert p.sent(p.scan()) == []


def test_removed_node_closes_its_alerts_and_is_reported(pipeline: Callable[..., Pipeline]) -> None:
    p = pipeline()
    p.sim.control.set_node(CLUSTER, N2, cpu=0.97)
    (cpu,) = p.sent(p.scan())
    p.sim.control.remove_node(CLUSTER, N2)
    kinds = sorted((n.rule, n.kind.value) for n in p.sent(p.scan()))
    assert kinds == [("cpu_usage", "resolved"), ("node_removed", "firing")]


def test_scan_once_json_shows_figures_and_findings(pipeline: Callable[..., Pipeline]) -> None:
    p = pipeline()
    p.sim.control.set_node(CLUSTER, N1, cpu=0.93, disk=0.9)
    p.sim.control.advance(20)
    out = subprocess.run(
        [
            NODEWATCH,
            "scan",
            "--kubeconfig",
            str(p.sim.kubeconfigs[CLUSTER]),
            "--once",
            "--output",
            "json",
            "--disk",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1, out.stderr  # a critical finding: `scan` exits 1 (README)
    doc = json.loads(out.stdout)
    assert doc["cluster"] == CLUSTER  # the kubeconfig's context, as kubectl names it
    row = next(r for r in doc["nodes"] if r["node"] == N1)
    for key in ("cpu_pct", "memory_pct", "nodefs_pct", "nodefs_inodes_pct", "pods", "cpu_requests_pct"):
        assert row[key] is not None, key
    assert row["cpu_pct"] == pytest.approx(93, abs=1)
    rules = {f["rule"]: f for f in row["findings"]}
    assert rules["cpu_usage"]["severity"] == "critical" and "93" in rules["cpu_usage"]["summary"]
    assert any(r.startswith("disk_") for r in rules)
