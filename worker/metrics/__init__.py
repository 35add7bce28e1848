"""Prometheus /metrics for the fleet: a collector that reads the state stores at scrape time (``FleetCollector``),
served as an ASGI app (``asgi_app``, mounted by the dashboard at /metrics) or by a small HTTP server in any process
(``serve``: ``nodewatch worker --metrics-port``, config ``metricsPort``).

Nothing is kept in process memory: every figure is either read from Redis when scraped (the last scan's record,
the inventory, the nodes' last history values, open alerts, queues, dead letters) or counted in Redis where it
happens (scan outcomes, duration and lag buckets with the scan record; suppressions with the why-entries;
deliveries in ``nw:stats``), so any process — the dashboard, any worker — serves the same numbers, and a scrape
costs at most three pipelined round trips (worker/state/scrape.py). Families and cardinality: docs/metrics.md.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, make_asgi_app, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from worker import settings
from worker.metrics import families
from worker.state import scrape
from worker.state.store import Stores

log = logging.getLogger("nodewatch.metrics")

# Celery's queues (worker/app.py QUEUES) and the keys kombu's Redis transport keeps them in: the queue's name,
# plus one key per priority step when a message carries a priority
QUEUES = ("control", "scan", "notify")
PRIORITY_STEPS = (3, 6, 9)


def _queue_keys() -> list[str]:
    return [k for q in QUEUES for k in (q, *(f"{q}\x06\x16{p}" for p in PRIORITY_STEPS))]


class FleetCollector(Collector):
    """Reads the stores on every ``collect`` (each scrape); ``node_series`` False drops the per-node families."""

    def __init__(self, stores: Stores, cfg: settings.Settings | None = None, node_series: bool | None = None):
        self.stores = stores
        self.cfg = cfg
        self.node_series = (
            node_series if node_series is not None else (cfg.metrics.node_series if cfg else True)
        )

    def _node_group(self, cluster: str, labels: Mapping[str, str]) -> str:
        return self.cfg.node_group_of(cluster, labels) if self.cfg else ""

    def collect(self) -> Iterator[Metric]:
        started = time.monotonic()
        keys = _queue_keys()
        snap = scrape.read(self.stores.client, keys, self.node_series)
        waiting = {q: sum(snap.queues.get(k, 0) for k in keys if k.split("\x06", 1)[0] == q) for q in QUEUES}
        snap.queues = waiting
        yield from families.families(snap, self._node_group, self.node_series)
        took = GaugeMetricFamily(
            "nodewatch_scrape_read_seconds", "Time this scrape spent reading Redis and building"
        )
        took.add_metric([], time.monotonic() - started)
        yield took

    def describe(self) -> list[Metric]:
        return []  # no read at registration


def registry(
    stores: Stores, cfg: settings.Settings | None = None, node_series: bool | None = None
) -> CollectorRegistry:
    """A registry holding only the fleet collector (no process metrics: they would differ per serving process)."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(FleetCollector(stores, cfg, node_series))
    return reg


def asgi_app(stores: Stores, cfg: settings.Settings | None = None, node_series: bool | None = None) -> Any:
    """An ASGI callable answering any GET with the Prometheus text exposition (gzip when asked): mount it at
    /metrics. ``node_series``: None follows the config's ``metrics.nodeSeries`` (default on).

    prometheus-client's ASGI app reads and formats inside the event loop; a 5,000-node scrape takes seconds
    (bench/README.md "metrics"), so it runs here in a thread of its own and the server's other requests (the
    dashboard's pages) go on meanwhile."""
    inner = make_asgi_app(registry(stores, cfg, node_series))

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            return  # lifespan and websockets: nothing to do
        sent: list[dict[str, Any]] = []

        async def request() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def keep(message: dict[str, Any]) -> None:
            sent.append(message)

        await asyncio.to_thread(asyncio.run, inner(scope, request, keep))
        for message in sent:
            await send(message)

    return app


def serve(
    stores: Stores,
    cfg: settings.Settings | None,
    port: int,
    address: str = "127.0.0.1",
    node_series: bool | None = None,
) -> threading.Thread:
    """/metrics on ``address:port`` from a daemon thread of this process (a worker's ``--metrics-port``)."""
    _server, thread = start_http_server(port, addr=address, registry=registry(stores, cfg, node_series))
    log.info("metrics served on http://%s:%d/metrics", address, port)
    return thread
