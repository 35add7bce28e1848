"""kubesim's kubelet housekeeping (image GC, hard eviction) and the disk curves the predictive scenarios use."""

from __future__ import annotations

from typing import Any

import pytest

from kubesim import curves
from kubesim.clock import SimClock
from kubesim.cluster import Cluster

H = 3600.0


def cluster(
    timeline: list[dict[str, Any]], kubelet: dict[str, Any] | None = None
) -> tuple[Cluster, SimClock]:
    clock = SimClock(speed=0, start_epoch=1_700_000_000)
    spec = {
        "kubelet": {"eviction": True, **(kubelet or {})},
        "node_groups": [
            {"name": "p", "names": ["n1", "n2"], "capacity": {"memory": "16Gi"}, "pods_per_node": 4,
             "usage": {"disk": 0.5, "memory": 0.5, "imagefs": 0.5, "inodes": 0.3}}
        ],
        "timeline": timeline,
    }  # fmt: skip
    return Cluster("k", spec, clock, 1, "token"), clock


def run(c: Cluster, clock: SimClock, hours: float, step: float = 60.0) -> list[dict[str, float]]:
    seen = []
    for _ in range(int(hours * H / step)):
        clock.advance(step)
        c.tick()
        seen.append(c.usage(c.node("n1"), clock.t()))
    return seen


def test_image_gc_cleans_down_to_the_low_threshold_and_nothing_is_evicted() -> None:
    c, clock = cluster([{"at": 0, "node": "n1", "imagefs": {"fill": {"from": 0.6, "rate_per_hour": 0.05}}}])
    seen = run(c, clock, 24)
    assert c.kubelet is not None
    assert max(u["imagefs"] for u in seen) < 0.86  # caught within 5 minutes of passing 85 %
    gcs = [e for e in c.kubelet.events if e["action"] in ("gc", "reclaim")]
    assert len(gcs) >= 10 and all(e["level"] >= 0.85 for e in gcs)
    assert not [e for e in c.kubelet.events if e["action"] == "evict"]
    assert min(u["imagefs"] for u in seen[6 * 60 :]) == pytest.approx(0.80, abs=0.01)


def test_nodefs_eviction_at_the_hard_threshold_frees_space_and_sets_disk_pressure() -> None:
    c, clock = cluster([{"at": 0, "node": "n1", "disk": {"fill": {"from": 0.8, "rate_per_hour": 0.02}}}])
    run(c, clock, 4.9, step=10)  # 90 % at 5 h
    assert c.kubelet is not None and c.kubelet.events == []
    run(c, clock, 0.15, step=10)
    (crossing,) = c.kubelet.events
    assert crossing["metric"] == "disk" and crossing["signal"] == "nodefs.available"
    assert crossing["t"] == pytest.approx(1_700_000_000 + 5 * H, abs=10)
    node = c.node("n1")
    assert c.usage(node, clock.t())["disk"] == pytest.approx(0.75, abs=0.01)  # 15 % freed, the fill goes on
    assert node.conditions["DiskPressure"].status == "True"
    assert any(p.reason == "Evicted" for p in c.pods_on("n1"))
    run(c, clock, 0.2)
    assert node.conditions["DiskPressure"].status == "False"  # 5 minutes after the last eviction


def test_memory_line_is_capacity_minus_100mi_over_allocatable() -> None:
    c, clock = cluster([{"at": 0, "node": "n1", "memory": {"fill": {"from": 1.0, "rate_per_hour": 0.05}}}])
    node = c.node("n1")
    assert c.kubelet is not None
    line = c.kubelet.line("memory.available", node)
    capacity = int(node.capacity["memory"][:-2]) * 1024
    assert line == pytest.approx((capacity - 100 * 2**20) / node.memory_bytes)
    assert 1.05 < line < 1.15
    run(c, clock, 3)
    first = next(e for e in c.kubelet.events if e["metric"] == "memory")
    assert first["level"] == pytest.approx(line, abs=0.002)


def test_jumps_in_one_advance_are_checked_at_the_kubelets_own_times() -> None:
    """A replay advances 60 s at a time; checks run every 10 s (eviction) and 5 min (GC) within the jump."""
    c, clock = cluster([{"at": 0, "node": "n1", "disk": {"fill": {"from": 0.89, "rate_per_hour": 0.36}}}])
    clock.advance(600)
    c.tick()
    assert c.kubelet is not None
    (crossing,) = c.kubelet.events
    assert crossing["t"] == pytest.approx(1_700_000_000 + 100, abs=10)


def test_disk_curves_logs_bursts_and_a_fill_that_stops() -> None:
    logs = curves.build(
        {"fill": {"from": 0.5, "rate_per_hour": 0, "logs": {"rate_per_hour": 0.1, "every": "1h"}}},
        0,
        "s",
        "disk",
    )
    assert logs(0.5 * H) == pytest.approx(0.55) and logs(H + 1) == pytest.approx(0.5, abs=1e-4)
    stops = curves.build({"fill": {"from": 0.5, "rate_per_hour": 0.01, "stop_after": "10h"}}, 0, "s", "disk")
    assert stops(5 * H) == pytest.approx(0.55) and stops(30 * H) == pytest.approx(0.6)
    spec = {
        "fill": {"from": 0.5, "rate_per_hour": 0, "bursts": {"every": "1h", "size": 0.02, "probability": 0.5}}
    }
    a, b = curves.build(spec, 0, "node-a", "disk"), curves.build(spec, 0, "node-b", "disk")
    series = [a(t * 600.0) for t in range(0, 6 * 24 * 3)]
    assert all(y >= x for x, y in zip(series, series[1:], strict=False))  # only ever jumps up
    assert 0.5 + 0.02 * 72 * 0.3 < series[-1] < 0.5 + 0.02 * 72 * 0.7  # ~half the hours, ~2 % each
    assert series != [b(t * 600.0) for t in range(0, 6 * 24 * 3)]  # each node its own bursts
    assert curves.build(spec, 0, "node-a", "disk")(50 * H) == a(50 * H)  # and the same every time


def test_without_eviction_a_cluster_keeps_its_curves() -> None:
    clock = SimClock(speed=0, start_epoch=1_700_000_000)
    spec = {
        "node_groups": [
            {"name": "p", "names": ["n1"], "usage": {"disk": {"fill": {"from": 0.85, "rate_per_hour": 0.1}}}}
        ]
    }
    c = Cluster("k", spec, clock, 1, "token")
    clock.advance(2 * H)
    c.tick()
    assert c.kubelet is None
    assert c.usage(c.node("n1"), clock.t())["disk"] == pytest.approx(1.0)


def test_a_nodes_own_kubelet_config_from_the_timeline_moves_its_eviction_line() -> None:
    timeline = [
        {"at": 0, "node": "n1", "kubelet_config": {"evictionHard": {"nodefs.available": "25%"}}},
        {"at": 0, "node": "n1", "disk": {"fill": {"from": 0.70, "rate_per_hour": 0.02}}},
        {"at": 0, "node": "n2", "disk": {"fill": {"from": 0.70, "rate_per_hour": 0.02}}},
    ]
    c, clock = cluster(timeline)
    run(c, clock, 3, step=10)  # n1 reaches its 75 % after 2.5 h; n2's line (90 %) is 10 h away
    assert c.kubelet is not None
    (crossing,) = c.kubelet.events
    assert (crossing["node"], crossing["signal"]) == ("n1", "nodefs.available")
    assert crossing["t"] == pytest.approx(1_700_000_000 + 2.5 * H, abs=10)
    assert c.node("n1").kubelet_config == {"evictionHard": {"nodefs.available": "25%"}}
