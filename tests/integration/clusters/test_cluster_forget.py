"""A cluster leaving the registry, on a real Redis: the schedule records it once, its alerts close as removed."""

from __future__ import annotations

from datetime import UTC, datetime

import redis

from worker import pipeline, settings
from worker.alerting import transitions
from worker.model import ClusterSample, Finding, NodeSample, Notification, Severity
from worker.state import keys
from worker.state import store as state_store


def test_claim_due_records_each_removed_cluster_once(redis_client: redis.Redis) -> None:
    store = state_store.Stores(redis_client).schedule
    store.claim_due({"a": 60, "b": 60, "c": 60}, 1000.0, jitter=False)
    assert store.take_removed() == []
    store.claim_due({"a": 60}, 1001.0, jitter=False)
    assert sorted(store.take_removed()) == ["b", "c"]
    assert store.take_removed() == []  # handed out once
    assert set(redis_client.zrange(keys.SCHEDULE, 0, -1)) == {"a"}
    store.claim_due({"a": 60, "b": 60}, 1002.0, jitter=False)  # b comes back: scheduled again, not removed
    assert store.take_removed() == [] and set(redis_client.zrange(keys.SCHEDULE, 0, -1)) == {"a", "b"}


def test_removed_cluster_resolves_firing_alerts_as_removed_and_drops_pending(
    redis_client: redis.Redis,
) -> None:
    stores = state_store.Stores(redis_client)
    cfg = settings.parse({"slack": {"webhookURL": "https://hooks.example.invalid/services/T/B/x"}}, env={})
    firing_node = Finding("prod", "prod-1", "cpu", Severity.CRITICAL, value=97, threshold=90)
    pending_node = Finding("prod", "prod-2", "memory", Severity.WARNING, hold_for=600)
    down = Finding("prod", "", "cluster_unreachable", Severity.CRITICAL)
    sample = ClusterSample(
        "prod",
        datetime.fromtimestamp(1000, UTC),
        (NodeSample("prod", "prod-1"), NodeSample("prod", "prod-2")),
    )
    state = stores.load_scan_state("prod", 1000.0)
    t = transitions.advance(stores, cfg, "prod", state, [firing_node, pending_node, down], sample, 1000.0)
    assert len(stores.commit_scan("prod", t)) == 2  # cpu and cluster_unreachable fire; memory is pending
    assert len(stores.alerts.load("prod")) == 3
    out = pipeline.forget(stores, cfg, "prod", clock=lambda: 1100.0)  # what the forget task runs
    assert out.status == "forgotten"
    assert stores.alerts.load("prod") == {}
    assert {j.receiver for j in out.jobs} == {"slack"}
    notes = [stores.notifications.get("prod", j.notification) for j in out.jobs]
    assert all(isinstance(n, Notification) for n in notes)
    got = {(n.node, n.rule, n.kind.value, n.params.get("resolved_reason")) for n in notes if n}
    assert got == {
        ("prod-1", "cpu", "resolved", "cluster removed"),
        ("", "cluster_unreachable", "resolved", "cluster removed"),
    }
    # nothing left to close: a second forget sends nothing
    assert pipeline.forget(stores, cfg, "prod", clock=lambda: 1200.0).jobs == []
