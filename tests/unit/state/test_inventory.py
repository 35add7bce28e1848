"""The inventory hash: what the comparing rules get back, and that a steady cluster rewrites one field a scan."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from worker.model import ClusterSample, Condition, NodeSample, Taint
from worker.rules import cluster as cluster_rules
from worker.state import inventory

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def node(name: str, ready: str = "True", **kw: object) -> NodeSample:
    return NodeSample(
        cluster="c", name=name, labels={"pool": "a"}, conditions={"Ready": Condition("Ready", ready)}, **kw
    )


def sample(at: datetime, *nodes: NodeSample) -> ClusterSample:
    return ClusterSample(cluster="c", taken_at=at, nodes=nodes)


def scan(stored: dict[str, str], s: ClusterSample) -> inventory.Diff:
    _, last_ready = inventory.decode("c", stored)
    d = inventory.diff(stored, s, cluster_rules.update_last_ready(last_ready or {}, s))
    stored.update(d.set)
    for name in d.delete:
        del stored[name]
    return d


def test_first_scan_then_steady_state_writes_only_the_scan_time() -> None:
    stored: dict[str, str] = {}
    assert inventory.decode("c", stored) == (None, None)
    taint = Taint("dedicated", "NoSchedule", "gpu", T0)
    first = scan(stored, sample(T0, node("a", taints=(taint,)), node("b")))
    assert set(first.set) == {"a", "b", inventory.SCAN_FIELD}
    second = scan(stored, sample(T0 + timedelta(minutes=1), node("a", taints=(taint,)), node("b")))
    assert set(second.set) == {inventory.SCAN_FIELD} and second.delete == []
    previous, last_ready = inventory.decode("c", stored)
    assert previous is not None and last_ready is not None
    assert previous["a"].taints == (taint,) and previous["a"].labels == {"pool": "a"}
    assert last_ready == {"a": T0 + timedelta(minutes=1), "b": T0 + timedelta(minutes=1)}


def test_a_node_that_stops_being_ready_keeps_when_it_was_last_ready_and_a_gone_node_is_deleted() -> None:
    stored: dict[str, str] = {}
    scan(stored, sample(T0, node("a"), node("b")))
    scan(stored, sample(T0 + timedelta(minutes=1), node("a", ready="Unknown"), node("b")))
    d = scan(stored, sample(T0 + timedelta(minutes=2), node("a", ready="Unknown")))
    assert d.delete == ["b"]
    previous, last_ready = inventory.decode("c", stored)
    assert previous is not None and previous["a"].ready == "Unknown"
    assert last_ready == {"a": T0}  # last seen Ready at the first scan, not at the scans since
    labelled = replace(node("a", ready="Unknown"), labels={"pool": "b"})
    assert set(scan(stored, sample(T0 + timedelta(minutes=3), labelled)).set) == {"a", inventory.SCAN_FIELD}
