"""The seed sketch's policy as replay's baseline: threshold checks with a 15-minute cooldown per key."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from worker.model import ClusterSample, Condition, NodeSample, Resources, Usage
from worker.model.thresholds import Thresholds
from worker.replay import baseline

GI = 1024**3
ALLOC = Resources(cpu_m=4000.0, memory=16 * GI, pods=110)
T = Thresholds()


def node(
    name: str = "n1", cpu: float = 0.3, memory: float = 0.3, ready: str = "True", pods: int = 10
) -> NodeSample:
    return NodeSample(
        cluster="c",
        name=name,
        conditions={"Ready": Condition("Ready", ready)},
        allocatable=ALLOC,
        capacity=ALLOC,
        pod_count=pods,
        usage=Usage(cpu_m=4000.0 * cpu, memory=int(16 * GI * memory)),
    )


def sample(*nodes: NodeSample) -> ClusterSample:
    return ClusterSample("c", datetime(2026, 1, 5, tzinfo=UTC), nodes=nodes)


CHECKS = [
    # (name, node, expected [(rule, severity)])
    ("calm", node(), []),
    ("exactly at warning is not above it", node(cpu=0.70), []),
    ("cpu warning", node(cpu=0.75), [("cpu_usage", "warning")]),
    ("cpu critical", node(cpu=0.95), [("cpu_usage", "critical")]),
    ("memory critical", node(memory=0.91), [("memory_usage", "critical")]),
    ("pods above 80 %", node(pods=90), [("pods_usage", "warning")]),
    ("not ready", node(ready="False"), [("node_not_ready", "critical")]),
    ("unknown counts as not ready", node(ready="Unknown"), [("node_not_ready", "critical")]),
    ("no metrics, no usage check", replace(node(), usage=None), []),
]


@pytest.mark.parametrize(("name", "subject", "expected"), CHECKS, ids=[c[0] for c in CHECKS])
def test_checks(name: str, subject: NodeSample, expected: list[tuple[str, str]]) -> None:
    assert [(c.rule, c.severity) for c in baseline.checks(subject, T)] == expected


def run(samples: list[tuple[float, ClusterSample]]) -> list[tuple[float, str, str]]:
    last: dict[str, float] = {}
    out = []
    for now, s in samples:
        sent, last = baseline.step(s, lambda _n: T, last, now)
        out += [(m.t, m.nodes[0], m.rule) for m in sent]
    return out


def test_cooldown_is_per_key_and_fifteen_minutes() -> None:
    hot = sample(node("n1", cpu=0.95), node("n2", memory=0.95))
    got = run([(t * 60.0, hot) for t in range(31)])
    assert got == [
        (0.0, "n1", "cpu_usage"),
        (0.0, "n2", "memory_usage"),
        (900.0, "n1", "cpu_usage"),
        (900.0, "n2", "memory_usage"),
        (1800.0, "n1", "cpu_usage"),
        (1800.0, "n2", "memory_usage"),
    ]


def test_no_resolve_and_cooldown_survives_a_dip() -> None:
    hot, calm = sample(node(cpu=0.95)), sample(node(cpu=0.2))
    # hot at 0, calm at 60..300 (nothing sent, nothing resolved), hot again at 360: still muted, sent at 900
    samples = (
        [(0.0, hot)] + [(t, calm) for t in (60.0, 120.0, 300.0)] + [(360.0, hot), (600.0, hot), (900.0, hot)]
    )
    assert run(samples) == [(0.0, "n1", "cpu_usage"), (900.0, "n1", "cpu_usage")]


def test_warning_to_critical_is_muted_by_the_same_key() -> None:
    got = run([(0.0, sample(node(cpu=0.75))), (60.0, sample(node(cpu=0.95)))])
    assert got == [(0.0, "n1", "cpu_usage")]
