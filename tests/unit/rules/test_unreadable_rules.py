"""node_unreadable: a node listed but not readable is reported once, counted as present, and its other alerts and
history are left as they are (pure: rules, inventory diff, noise plan)."""

from __future__ import annotations

from datetime import timedelta

from helpers_rules import NOW, cluster, node, none_of, one, run

from worker.model import Finding, Severity, Unreadable
from worker.model.alerts import AlertState
from worker.rules import cluster as cluster_rules
from worker.rules import noise
from worker.state import inventory

BAD = Unreadable("status.allocatable.memory", "status.allocatable.memory: bad quantity 'lots'")


def test_an_unreadable_node_is_one_warning_naming_the_field_and_no_other_finding() -> None:
    sample = cluster(node("a"), node("b"), unreadable={"c": BAD})
    findings = run(sample, previous={"a": node("a"), "b": node("b"), "c": node("c")})
    f = one(findings, "node_unreadable", "c")
    assert f.severity == Severity.WARNING and f.params["field"] == "status.allocatable.memory"
    assert f.params["reason"] == BAD.reason and BAD.reason in f.summary
    assert [x.rule for x in findings if x.node == "c"] == ["node_unreadable"]  # no node_removed, no others
    assert one(findings, "node_unreadable", "a").severity is None  # read: resolves an open one
    assert none_of(findings, "cluster_cpu_overcommit", "")  # not evaluated without c's allocatable


def test_an_unreadable_node_never_seen_before_is_not_added() -> None:
    findings = run(cluster(node("a"), unreadable={"new": BAD}), previous={"a": node("a")})
    assert none_of(findings, "node_added", "new") and one(findings, "node_unreadable", "new").active


def test_its_inventory_entry_and_last_ready_time_are_kept() -> None:
    stored: dict[str, str] = {}
    first = cluster(node("a"), node("b"))
    stored.update(inventory.diff(stored, first, cluster_rules.update_last_ready({}, first)).set)
    entry = stored["b"]
    later = cluster(node("a"), unreadable={"b": BAD}, taken_at=NOW + timedelta(minutes=1))
    last_ready = cluster_rules.update_last_ready({"a": NOW, "b": NOW}, later)
    d = inventory.diff(stored, later, last_ready)
    assert d.delete == [] and "b" not in d.set and stored["b"] == entry
    assert last_ready["b"] == NOW  # when it was last seen Ready, not forgotten


def test_its_open_alerts_are_not_closed_as_node_removed() -> None:
    st = AlertState(
        "fp-mem", "b", "memory_usage", "firing", Severity.CRITICAL, 100.0, 100.0, Severity.CRITICAL
    )
    findings = [Finding("c1", "b", "node_unreadable", Severity.WARNING, summary="b: node cannot be read")]
    present = noise.plan(
        "c1", {"fp-mem": st}, findings, noise.Context(now=200.0, node_names=frozenset({"b"}))
    )
    assert "fp-mem" not in present.delete and "fp-mem" not in present.upsert
    assert [o.finding.rule for o in present.outgoing] == ["node_unreadable"]
    gone = noise.plan("c1", {"fp-mem": st}, [], noise.Context(now=200.0, node_names=frozenset()))
    assert [o.reason for o in gone.outgoing] == ["node removed"]  # what dropping it used to do
