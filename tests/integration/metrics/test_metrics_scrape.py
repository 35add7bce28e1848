"""/metrics over real state: kubesim scanned by the scan task's own function into a real Redis, then scraped
through the ASGI app (the dashboard mounts it) and parsed with prometheus-client's own parser."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from tests.configs import immediate
from worker import metrics, pipeline, settings
from worker.state.store import Stores

CLUSTER = "sim-1"
NODES = [f"{CLUSTER}-pool-{i}" for i in (1, 2, 3)]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def asgi_get(
    app: Any, path: str = "/metrics", headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[int, str]:
    """One GET through the ASGI callable, as a server would call it."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": headers or []}
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body.decode()


@pytest.fixture()
def scanned(kubesim_factory: Callable[..., Any], redis_client: redis.Redis, write_config: Any) -> Any:
    sim = kubesim_factory(clusters=1, nodes=3, pods_per_node=2)
    sim.control.set_node(CLUSTER, NODES[0], cpu=0.42, memory=0.61, disk=0.35, labels={"pool": "gpu"})
    sim.control.set_node(CLUSTER, NODES[1], ready="False")
    raw = immediate(
        {
            "clusters": [{"name": CLUSTER, "kubeconfig": str(sim.kubeconfigs[CLUSTER])}],
            "nodeGroups": [{"name": "gpu", "matchLabels": {"pool": "gpu"}}],
            "collect": {"diskStats": True},
        }
    )
    cfg = settings.parse(raw, "x.yaml", env={})
    stores = Stores(redis_client)
    stores.schedule.claim_due(
        {CLUSTER: 60.0}, now=1.0, jitter=False
    )  # in the schedule, as the dispatcher puts it
    sim.control.advance(20)
    pipeline.scan_cluster(stores, cfg, CLUSTER, due_at=None)
    return stores, cfg


def test_node_gauges_show_what_kubesim_set(scanned: Any) -> None:
    stores, cfg = scanned
    status, text = asgi_get(metrics.asgi_app(stores, cfg))
    assert status == 200
    got = samples(text)
    gpu = (("cluster", CLUSTER), ("node", NODES[0]), ("node_group", "gpu"))
    assert got[("nodewatch_node_cpu_usage_ratio", gpu)] == pytest.approx(0.42, abs=0.002)
    assert got[("nodewatch_node_memory_usage_ratio", gpu)] == pytest.approx(0.61, abs=0.002)
    assert got[("nodewatch_node_nodefs_used_ratio", gpu)] == pytest.approx(0.35, abs=0.01)
    assert got[("nodewatch_node_ready", gpu)] == 1.0
    other = (("cluster", CLUSTER), ("node", NODES[1]), ("node_group", ""))
    assert got[("nodewatch_node_ready", other)] == 0.0
    c = (("cluster", CLUSTER),)
    assert got[("nodewatch_cluster_nodes", c)] == 3 and got[("nodewatch_cluster_nodes_ready", c)] == 2
    assert got[("nodewatch_scans_total", (("cluster", CLUSTER), ("outcome", "ok")))] == 1
    assert got[("nodewatch_scan_duration_seconds_count", c)] == 1
    assert got[("nodewatch_last_scan_timestamp", c)] > 1e9
    assert got[("nodewatch_scan_interval_seconds", c)] == 60
    # the NotReady node fired (immediate timing): an open alert by rule and severity
    firing = {k for k in got if k[0] == "nodewatch_alerts" and ("state", "firing") in k[1]}
    assert any(("rule", "node_not_ready") in k[1] for k in firing), firing
    assert got[("nodewatch_queue_length", (("queue", "scan"),))] == 0
    assert got[("nodewatch_dead_letters", ())] == 0


def test_per_node_series_can_be_dropped(scanned: Any) -> None:
    stores, cfg = scanned
    _, text = asgi_get(metrics.asgi_app(stores, cfg, node_series=False))
    got = samples(text)
    assert not [k for k in got if k[0].startswith("nodewatch_node_")]
    assert got[("nodewatch_cluster_nodes_ready", (("cluster", CLUSTER),))] == 2


def test_counters_of_deliveries_and_suppressions(scanned: Any) -> None:
    stores, cfg = scanned
    stores.notifications.count("delivered:ops", 3)
    stores.notifications.count("held:ops", 2)
    stores.notifications.note_why(CLUSTER, [("fp1", "silenced by s-1 (alice)"), ("fp2", "pending until 5")])
    stores.notifications.note_why(
        CLUSTER, [("fp3", "repeat to ops held by route.routes.0 repeatInterval until 9")]
    )
    got = samples(asgi_get(metrics.asgi_app(stores, cfg))[1])
    assert got[("nodewatch_notifications_sent_total", (("receiver", "ops"),))] == 3
    sup = "nodewatch_notifications_suppressed_total"
    assert got[(sup, (("cluster", ""), ("reason", "rate_limited"), ("receiver", "ops")))] == 2
    assert got[(sup, (("cluster", CLUSTER), ("reason", "silenced"), ("receiver", "")))] == 1
    assert got[(sup, (("cluster", CLUSTER), ("reason", "repeat_interval"), ("receiver", "ops")))] == 1
    assert not [k for k in got if k[0] == sup and ("reason", "pending") in k[1]]


def test_no_secret_in_the_exposition(scanned: Any) -> None:
    stores, _ = scanned
    token = "metrics-leak-token-9f3a"
    cfg = settings.parse(
        {"slack": {"webhookURL": f"https://hooks.example/services/T/B/{token}"},
         "dingtalk": {"webhookURL": f"https://ding.example/robot/send?access_token={token}", "secret": token}},
        "x.yaml", env={},
    )  # fmt: skip
    stores.notifications.count("delivered:slack", 1)
    stores.notifications.count("retried:dingtalk", 1)
    _, text = asgi_get(metrics.asgi_app(stores, cfg))
    assert 'receiver="slack"' in text and token not in text


def test_a_scrape_leaves_the_event_loop_free(scanned: Any) -> None:
    """The dashboard serves pages from the same loop: while a scrape reads and formats, other tasks run."""
    stores, cfg = scanned
    app = metrics.asgi_app(stores, cfg)
    events: list[str] = []

    async def scrape() -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            events.append(message["type"])

        scope = {"type": "http", "method": "GET", "path": "/metrics", "query_string": b"", "headers": []}
        await app(scope, receive, send)

    async def other_request() -> None:
        await asyncio.sleep(0)
        events.append("other request served")

    async def both() -> None:
        await asyncio.gather(scrape(), other_request())

    asyncio.run(both())
    assert events[0] == "other request served" and events[1:] == ["http.response.start", "http.response.body"]
