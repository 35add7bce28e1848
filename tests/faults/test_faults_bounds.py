"""Bounded output and state, tried for real: a node with 10,000 taints, and hours of node and cluster churn.

Real Redis (the test session's own), kubesim as a process, chatsim over HTTP. The taint test goes through the scan
path (``run_scan``) into Redis and out of every channel; the churn test runs the alerting stages and the commit
(``transitions.advance`` + ``Stores.commit_scan``, what every scan and the forget task run) for hundreds of scans
and then checks every ``nw:*`` key against the bound ``worker/state/keys.py`` documents for it.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
import requests

from chatsim.testing import ChatSim
from tests.configs import endpoint, immediate
from worker import clusters, settings
from worker.alerting import transitions
from worker.model import ClusterSample, Finding, NodeSample, Severity, limits
from worker.model.alerts import FlapRecord
from worker.notify import registry
from worker.pipeline import run_scan
from worker.state import keys
from worker.state import store as state_store

CLUSTER = "sim-1"


def test_node_with_10000_taints_is_stored_capped_and_arrives_on_every_channel(
    kubesim_factory: Callable[..., Any], redis_client: redis.Redis
) -> None:
    sim = kubesim_factory(clusters=1, nodes=2, pods_per_node=0)
    node = f"{CLUSTER}-pool-1"
    sim.control.set_node(CLUSTER, node, taints=[f"example.com/t{i}=v{i}:NoSchedule" for i in range(10_000)])
    store = state_store.Stores(redis_client)
    cfg = settings.parse(immediate({"thresholds": {"taintFor": 0}}), env={})
    spec = clusters.ClusterSpec(CLUSTER, 60, str(sim.kubeconfigs[CLUSTER]))
    result = run_scan(store, cfg, spec, 1_000_000.0)
    assert result.outcome == "ok", result.error
    [nid] = [n.id for n in result.messages if n.rule == "taint"]
    assert redis_client.strlen(keys.payload(CLUSTER, nid)) <= keys.PAYLOAD_MAX  # was 3.1 MB
    alert = store.notifications.get(CLUSTER, nid)
    assert alert is not None
    assert (
        sum(1 if isinstance(t, dict) else limits.split_more([t])[1] for t in alert.params["taints"]) == 10_000
    )  # type: ignore[union-attr]

    with ChatSim() as chat, requests.Session() as session:
        chat.register_dingtalk("dt-taints", "SECtaints", keyword="nodewatch")
        channels = {
            "slack": endpoint("slack", chat.slack_url("SlackTaints")),
            "dingtalk": endpoint(
                "dingtalk", chat.dingtalk_url("dt-taints"), secret="SECtaints", keyword="nodewatch"
            ),
            "wecom": endpoint("wecom", chat.wecom_url("wecom-taints")),
            "webhook": endpoint("webhook", chat.webhook_url("taints")),
        }
        for e in channels.values():
            registry.channel(e, session=session).send(alert)  # raises when the service refuses it
        delivered = chat.wait_for(len(channels))
        assert sorted(m["channel"] for m in delivered) == sorted(channels)
        assert chat.attempts() == ["accepted"] * len(channels)  # nothing refused, nothing retried
        for msg in delivered:
            assert msg["headline"].endswith("… +9995 more"), msg["headline"][:300]


# --- churn -------------------------------------------------------------------------------------------------------

RULES = ("cpu_usage", "node_not_ready")
SCANS = 240
STEP = 60.0
POOL = 20  # nodes in the cluster at any time; one leaves and one joins every other scan


def _present(scan: int) -> list[str]:
    first = scan // 2
    return [f"node-{j}" for j in range(first, first + POOL)]


def _findings(cluster: str, nodes: list[str], scan: int) -> list[Finding]:
    out = []
    for j, node in enumerate(nodes):
        # cpu flips every scan on every third node (flapping); node_not_ready fires on a few and stays
        cpu = Severity.CRITICAL if j % 3 == 0 and scan % 2 == 0 else None
        ready = Severity.CRITICAL if j % 7 == 0 else None
        out.append(Finding(cluster, node, "cpu_usage", cpu, value=97.0, threshold=90.0))
        out.append(Finding(cluster, node, "node_not_ready", ready, params={"message": "kubelet " * 5000}))
    return out


def _sample(cluster: str, nodes: list[str], now: float) -> ClusterSample:
    return ClusterSample(
        cluster, datetime.fromtimestamp(now, UTC), tuple(NodeSample(cluster, n) for n in nodes)
    )


def _without_ttl_allowed(key: str) -> bool:
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in keys.WITHOUT_TTL)


@pytest.fixture(scope="module")
def churn_redis(redis_session_url: str) -> Iterator[redis.Redis]:
    """The session's database, flushed once for the churn below: the tests that read it write nothing."""
    client = redis.Redis.from_url(redis_session_url, decode_responses=True)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture(scope="module")
def churned(churn_redis: redis.Redis) -> dict[str, Any]:
    """Two clusters scanned SCANS times with nodes coming and going; then "gone-1" is removed (forget task).
    Once for the module (it is most of its time): each test only reads what it left."""
    store = state_store.Stores(churn_redis)
    cfg = settings.parse(
        immediate({"noise": {"flapWindow": 600, "flapThreshold": 4, "flapQuiet": 300}}), env={}
    )
    now = 1_000_000.0
    for scan in range(SCANS):
        now += STEP
        nodes = _present(scan)
        for cluster in ("live-1", "gone-1"):
            state = store.load_scan_state(cluster, now)
            found, sample = _findings(cluster, nodes, scan), _sample(cluster, nodes, now)
            store.commit_scan(cluster, transitions.advance(store, cfg, cluster, state, found, sample, now))
            # and the history every successful scan records after its commit (pipeline.record_history)
            store.record_history(cluster, now, {n: {"cpu": float(scan % 100), "pods": 50.0} for n in nodes})
    # what the forget task (pipeline.forget) does under the cluster's scan lock: history deleted, then the commit
    now += STEP
    store.history.forget("gone-1")
    state = store.load_scan_state("gone-1", now)
    closed = transitions.advance(store, cfg, "gone-1", state, [], None, now, removed_reason="cluster removed")
    store.commit_scan("gone-1", closed, forget=True)
    return {"store": store, "present": set(_present(SCANS - 1)), "ever": POOL + (SCANS - 1) // 2}


def test_every_key_has_a_ttl_or_is_one_documented_without(
    churned: dict[str, Any], churn_redis: redis.Redis
) -> None:
    seen = sorted(churn_redis.scan_iter("nw:*"))
    assert seen, "the churn wrote nothing"
    # vanished nodes keep their history until its TTL: every node that ever was in live-1 has a key
    assert len([k for k in seen if k.startswith("nw:{live-1}:h:")]) == churned["ever"]
    unbounded = [k for k in seen if churn_redis.ttl(k) == -1 and not _without_ttl_allowed(k)]
    assert unbounded == [], f"keys without a TTL and not in keys.WITHOUT_TTL: {unbounded[:10]}"


def test_flap_records_and_alerts_of_vanished_nodes_are_gone(
    churned: dict[str, Any], churn_redis: redis.Redis
) -> None:
    store: state_store.Stores = churned["store"]
    present: set[str] = churned["present"]
    flaps = {
        fp: FlapRecord.from_json(json.loads(v)) for fp, v in churn_redis.hgetall(keys.flaps("live-1")).items()
    }
    assert flaps, "the churn made nothing flap"
    assert {r.node for r in flaps.values()} <= present  # 139 nodes came and went; their records did not stay
    assert len(flaps) <= len(present) * len(RULES)
    assert {st.node for st in store.alerts.load("live-1").values()} <= present
    assert churned["ever"] > 5 * len(present)


def test_sizes_stay_within_their_documented_bounds(churned: dict[str, Any], churn_redis: redis.Redis) -> None:
    assert churn_redis.xlen(keys.why("live-1")) <= keys.WHY_MAXLEN + keys.WHY_SLACK
    payloads = list(churn_redis.scan_iter("nw:{live-1}:n:*"))
    assert payloads
    assert max(churn_redis.strlen(k) for k in payloads) <= keys.PAYLOAD_MAX


def test_removed_cluster_leaves_only_keys_that_expire(
    churned: dict[str, Any], churn_redis: redis.Redis
) -> None:
    left = sorted(churn_redis.scan_iter("nw:{gone-1}:*"))
    assert all(0 < churn_redis.ttl(k) <= keys.ALERTS_TTL for k in left), [
        (k, churn_redis.ttl(k)) for k in left
    ]
    for key in (
        keys.alerts,
        keys.flaps,
        keys.nodes,
        keys.status,
        keys.scans,
        keys.failures,
        keys.group_buffer,
        keys.history_nodes,
    ):
        assert not churn_redis.exists(key("gone-1")), key("gone-1")
    why = keys.why("gone-1")
    assert 0 < churn_redis.ttl(why) <= keys.PAYLOAD_TTL  # `alerts why` answers two more days, then it is gone
    assert churn_redis.xrevrange(why, count=1)[0][1]["reason"] == "cluster removed"
    assert not list(churn_redis.scan_iter(keys.history("gone-1", "*")))
