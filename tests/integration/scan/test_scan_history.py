"""Every successful scan records its nodes' history (``run_scan`` -> ``Stores.record_history``), a failed one
records nothing, and removing the cluster (``pipeline.forget``) deletes it. Real kubesim over HTTP, real Redis,
``run_scan`` called with explicit increasing ``now``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis

from tests.configs import immediate
from worker import clusters, settings
from worker.pipeline import forget, run_scan
from worker.state import keys
from worker.state import store as state_store
from worker.state.store import Stores

CLUSTER = "sim-1"
N1, N2 = f"{CLUSTER}-pool-1", f"{CLUSTER}-pool-2"


@pytest.fixture()
def sim(kubesim_factory: Callable[..., Any]) -> Any:
    s = kubesim_factory(clusters=1, nodes=2, pods_per_node=0)
    s.control.set_node(CLUSTER, N1, cpu=0.1, memory=0.2, ready="True")
    s.control.set_node(CLUSTER, N2, cpu=0.5, memory=0.6, ready="True")
    return s


def test_each_scan_records_its_nodes_and_a_failed_scan_records_nothing(
    sim: Any, redis_client: redis.Redis
) -> None:
    stores = Stores(redis_client)
    cfg = settings.parse(immediate({}), env={})
    spec = clusters.ClusterSpec(CLUSTER, 60, str(sim.kubeconfigs[CLUSTER]))
    times = [1_000_000.0 + 60 * i for i in range(1, 5)]
    for now in times:
        sim.control.advance(20)  # past metrics-server's next scrape
        before = state_store.round_trips.count
        result = run_scan(stores, cfg, spec, now)
        assert result.outcome == "ok", result.error
        assert result.redis_round_trips == state_store.round_trips.count - before

    assert set(stores.history.nodes(CLUSTER)) == {N1, N2}
    cpu = stores.history.series(CLUSTER, N1, "cpu")
    assert [t for t, _ in cpu.fine] == times
    assert all(v == pytest.approx(10, abs=2) for _, v in cpu.fine), cpu.fine
    memory = stores.history.series(CLUSTER, N2, "memory")
    assert [t for t, _ in memory.fine] == times
    assert all(v == pytest.approx(60, abs=2) for _, v in memory.fine), memory.fine
    assert 0 < redis_client.ttl(keys.history(CLUSTER, N1)) <= keys.HISTORY_TTL

    sim.control.fault(CLUSTER, "unauthorized")
    failed = run_scan(stores, cfg, spec, times[-1] + 60)
    assert failed.outcome == "credentials_rejected"
    assert [t for t, _ in stores.history.series(CLUSTER, N1, "cpu").fine] == times  # nothing recorded


def test_removing_the_cluster_forgets_its_history(sim: Any, redis_client: redis.Redis) -> None:
    stores = Stores(redis_client)
    spec = clusters.ClusterSpec(CLUSTER, 60, str(sim.kubeconfigs[CLUSTER]))
    configured = settings.parse(immediate({}), env={})
    assert run_scan(stores, configured, spec, 1_000_060.0).outcome == "ok"
    assert stores.history.nodes(CLUSTER)
    # the config has no clusters: sim-1 is not configured, as after its removal
    gone = forget(stores, configured, CLUSTER, clock=lambda: 1_000_120.0)
    assert gone.status == "forgotten"
    assert stores.history.nodes(CLUSTER) == []
    assert not list(redis_client.scan_iter(keys.history(CLUSTER, "*")))
    assert not redis_client.exists(keys.history_nodes(CLUSTER))
