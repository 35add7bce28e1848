"""Never silently unwatched: a scan past its budget is a failed scan that alerts ``cluster_scan_slow`` and names
what took too long; a scan that finishes but takes longer than its interval warns. Real kubesim (its ``slow``
fault delays every request), real Redis, ``run_scan`` as the Celery task calls it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis

from tests.configs import immediate
from worker import clusters, settings
from worker.model import Severity
from worker.pipeline import run_scan
from worker.state.store import Stores, connect

CLUSTER = "sim-1"


def setup(kubesim_factory: Callable[..., Any], **spec: Any) -> tuple[Any, clusters.ClusterSpec]:
    sim = kubesim_factory(clusters=1, nodes=3, pods_per_node=2)
    return sim, clusters.ClusterSpec(CLUSTER, kubeconfig=str(sim.kubeconfigs[CLUSTER]), **spec)


def test_a_scan_past_its_budget_fails_alerts_and_says_what_took_too_long(
    kubesim_factory: Callable[..., Any], redis_url: str, redis_client: redis.Redis
) -> None:
    sim, spec = setup(kubesim_factory, interval=60, scan_budget=0.6)
    cfg = settings.parse(immediate({"scanFailuresBeforeAlert": 2}), env={})
    store = Stores(connect(redis_url))
    assert run_scan(store, cfg, spec, time.time()).outcome == "ok"
    sim.control.fault(CLUSTER, "slow", delay_s=0.25)
    first = run_scan(store, cfg, spec, time.time())
    assert first.outcome == "timeout" and first.sample is None and first.sent == []  # 1 of 2 failures
    assert "scan budget of 0.6s used up after" in first.error and " while " in first.error, first.error
    second = run_scan(store, cfg, spec, time.time())
    assert second.outcome == "timeout"
    (nid,) = second.sent
    note = store.notifications.get(CLUSTER, nid)
    assert note is not None and note.rule == "cluster_scan_slow" and note.severity == Severity.CRITICAL
    assert " while " in str(note.params["reason"]) and note.params["failures"] == 2
    assert len(store.inventory.load(CLUSTER)[0] or {}) == 3  # the last good inventory is kept
    sim.control.clear_faults(CLUSTER)
    back = run_scan(store, cfg, spec, time.time())
    assert back.outcome == "ok"
    resolved = [store.notifications.get(CLUSTER, i) for i in back.sent]
    assert [(n.rule, n.kind.value) for n in resolved if n] == [("cluster_scan_slow", "resolved")]


def test_a_scan_longer_than_its_interval_but_within_its_budget_warns(
    kubesim_factory: Callable[..., Any], redis_url: str, redis_client: redis.Redis
) -> None:
    sim, spec = setup(kubesim_factory, interval=0.5, scan_budget=30)
    cfg = settings.parse(immediate({}), env={})
    store = Stores(connect(redis_url))
    sim.control.fault(CLUSTER, "slow", delay_s=0.2)
    slow = run_scan(store, cfg, spec, time.time())
    assert slow.outcome == "slow" and slow.sample is not None and len(slow.sample.nodes) == 3
    found = {f.rule: f for f in slow.findings if f.severity is not None}
    warning = found["cluster_scan_slow"]
    assert warning.severity == Severity.WARNING and "longer than its 0.5s interval" in warning.summary
    assert slow.record()["requests"] >= 5 and slow.record()["redis_rt"] >= 2
