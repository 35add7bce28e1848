"""Noise reduction through the real scan path: silences and ack from the CLI, storms, flapping, two workers at once.

kubesim over HTTP, real Redis; ``run_scan`` called with explicit ``now`` (what the Celery task runs).
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.configs import immediate
from tests.integration.scan.test_scan_pipeline import CLUSTER, Pipeline
from worker import clusters, settings
from worker.model import fingerprint
from worker.pipeline import run_scan
from worker.state import keys
from worker.state.store import Stores, connect

NODEWATCH = str(Path(sys.executable).with_name("nodewatch"))
NODES = [f"{CLUSTER}-pool-{i}" for i in range(1, 6)]


@pytest.fixture()
def sim(kubesim_factory: Callable[..., Any]) -> Any:
    s = kubesim_factory(clusters=1, nodes=5, pods_per_node=0)
    for node in NODES:
        s.control.set_node(CLUSTER, node, cpu=0.1, memory=0.1, ready="True")
    return s


def cli(redis_url: str, *args: str) -> str:
    env = dict(os.environ, REDIS_URL=redis_url)
    out = subprocess.run([NODEWATCH, *args], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def kinds(p: Pipeline, step: float = 60) -> list[tuple[str, str, str]]:
    return sorted((n.node, n.rule, n.kind.value) for n in p.sent(p.scan(step)))


def test_silence_from_the_cli_holds_then_releases(
    sim: Any, redis_client: redis.Redis, redis_url: str
) -> None:
    p = Pipeline(sim, Stores(redis_client))
    out = cli(redis_url, "silence", "add", "--node", "*-pool-1", "--rule", "cpu_*", "--duration", "1h",
              "--author", "alice", "--comment", "load test")  # fmt: skip
    sid = out.split()[0]
    p.now = (
        time.time()
    )  # the CLI starts the silence at wall-clock time: scan after it (a CLI start can be slow)
    assert "1 active silence(s)" in cli(redis_url, "silence", "list")
    sim.control.set_node(CLUSTER, NODES[0], cpu=0.97)
    assert kinds(p, 1) == []
    fp = fingerprint(CLUSTER, NODES[0], "cpu_usage")
    assert f"silenced by {sid} (alice: load test)" in cli(
        redis_url, "alerts", "why", fp, "--cluster", CLUSTER
    )
    cli(redis_url, "silence", "expire", sid)
    p.now = time.time()
    assert kinds(p, 1) == [(NODES[0], "cpu_usage", "firing")]  # still hot when the silence ends: it pages now


def test_ack_stops_repeats_until_resolved(sim: Any, redis_client: redis.Redis, redis_url: str) -> None:
    p = Pipeline(sim, Stores(redis_client))
    sim.control.set_node(CLUSTER, NODES[1], cpu=0.97)
    assert kinds(p) == [(NODES[1], "cpu_usage", "firing")]
    fp = fingerprint(CLUSTER, NODES[1], "cpu_usage")
    assert fp in cli(redis_url, "alerts", "list", "--cluster", CLUSTER)
    assert "acknowledged" in cli(redis_url, "alerts", "ack", fp, "--cluster", CLUSTER)
    redis_client.delete(keys.cooldown(CLUSTER, fp))  # the repeat interval has passed
    assert kinds(p) == []
    sim.control.set_node(CLUSTER, NODES[1], cpu=0.1)
    assert kinds(p) == [(NODES[1], "cpu_usage", "resolved")]


def test_storm_is_one_message_and_later_nodes_are_batched(sim: Any, redis_client: redis.Redis) -> None:
    p = Pipeline(sim, Stores(redis_client), noise={"groupInterval": 120})  # two of the pipeline's 60 s scans
    for node in NODES[:3]:
        sim.control.set_node(CLUSTER, node, cpu=0.97)
    result = p.scan()
    (storm,) = p.sent(result)
    assert storm.node == "" and storm.rule == "cpu_usage" and storm.params["count"] == 3
    assert "3 nodes firing cpu_usage" in storm.summary
    sim.control.set_node(CLUSTER, NODES[3], cpu=0.97)
    assert kinds(p) == []  # the storm is on: the fourth node waits for the group interval
    fp = fingerprint(CLUSTER, NODES[3], "cpu_usage")
    assert any("storm" in w["reason"] for w in p.store.notifications.why(CLUSTER) if w["fp"] == fp)
    # the interval ends on the scans' clock (the marker's TTL runs on Redis's, here far longer than the test)
    assert p.store.alerts.storms_on(CLUSTER, ["cpu_usage"], p.now + 60) == set()
    assert kinds(p) == [(NODES[3], "cpu_usage", "firing")]  # flushed: one node, sent as itself
    for node in NODES[:4]:
        sim.control.set_node(CLUSTER, node, cpu=0.1)
    (resolved,) = p.sent(p.scan())
    assert resolved.kind.value == "resolved" and resolved.params["count"] == 4


def test_flapping_readiness_is_one_notice_then_one_summary(sim: Any, redis_client: redis.Redis) -> None:
    p = Pipeline(sim, Stores(redis_client), noise={"flapWindow": 1800, "flapThreshold": 4, "flapQuiet": 600})
    sent = []
    for ready in ["False", "True", "False", "True", "False", "True", "False"]:
        sim.control.set_node(CLUSTER, NODES[2], ready=ready)
        sent += kinds(p)
    rules = {s[1] for s in sent}
    assert rules == {"node_not_ready"}, sent
    assert [s[2] for s in sent] == ["firing", "resolved", "firing", "flapping"]
    # stable (NotReady) for the quiet period: one summary saying where it settled
    assert kinds(p, 300) == []
    (summary,) = p.sent(p.scan(300))
    assert summary.kind.value == "flap_ended" and summary.params["now_firing"] is True


def test_flapping_cluster_readiness_count_is_one_notice_then_one_summary(
    sim: Any, redis_client: redis.Redis
) -> None:
    """Two of five nodes dropping out of Ready together, again and again: the cluster's ``ready_drop`` alert
    flaps like a node's would, so it says "flapping" once and "stable again" once, not every drop."""
    p = Pipeline(sim, Stores(redis_client), noise={"flapWindow": 1800, "flapThreshold": 4, "flapQuiet": 600})
    drops = []
    for ready in ["False", "True", "False", "True", "False", "True", "False", "True"]:
        for node in NODES[3:]:
            sim.control.set_node(CLUSTER, node, ready=ready)
        drops += [kind for node, rule, kind in kinds(p) if rule == "ready_drop"]
    assert drops == ["firing", "resolved", "firing", "flapping"]
    fp = fingerprint(CLUSTER, "", "ready_drop")
    assert any("flapping" in w["reason"] for w in p.store.notifications.why(CLUSTER) if w["fp"] == fp)
    # back for good: after the quiet period, one summary of where it settled
    assert [k for k in kinds(p, 300) if k[1] == "ready_drop"] == []
    settled = [n for n in p.sent(p.scan(300)) if n.rule == "ready_drop"]
    assert [(n.kind.value, n.params["now_firing"]) for n in settled] == [("flap_ended", False)]


def _scan_in_process(redis_url: str, kubeconfig: str, now: float, barrier: Any, out: Any) -> None:
    store = Stores(connect(redis_url))
    spec = clusters.ClusterSpec(CLUSTER, 60, kubeconfig)
    cfg = settings.parse(immediate({}), env={})
    barrier.wait()
    out.put(run_scan(store, cfg, spec, now).sent)


def test_two_processes_scanning_at_once_send_one_notification(sim: Any, redis_url: str) -> None:
    sim.control.set_node(CLUSTER, NODES[4], ready="False")
    sim.control.advance(20)
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    now = time.time()
    procs = [
        ctx.Process(
            target=_scan_in_process, args=(redis_url, str(sim.kubeconfigs[CLUSTER]), now, barrier, out)
        )
        for _ in range(2)
    ]
    for proc in procs:
        proc.start()
    sent = [out.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(30)
    assert sorted(len(s) for s in sent) == [0, 1], sent
