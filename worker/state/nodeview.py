"""The last scan's figures of every node, as the dashboard shows them (``NodeViewStore``).

The inventory keeps only what the rules compare between scans, and the history keeps series (~16 KB a node):
neither answers "every node's cpu, memory, disk and pods now" for a 5,000-node table in one read. So each scan
that read its cluster also writes a *view*: one compact row per node (``Row``) in one string, plus a small
*summary* (ready/total nodes, the worst figure of each metric and its node, the scan's degraded reads) that the
fleet page reads for hundreds of clusters in one round trip. Both go in the history's pipelined round trip after
the scan's commit (``store.Stores.record_history``): no round trip of their own, and a view that cannot be
written never costs the scan its alerts. Keys (keys.py): ``view`` and ``viewsum`` of each cluster, 7 d TTL,
~150 B a node.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import msgspec

from worker.model import ClusterSample, NodeSample
from worker.model import history as model_history
from worker.state import keys
from worker.state.batch import Batch, Result, Transaction

METRICS = model_history.METRICS
# the summary's "worst" figures: the fleet page's columns
WORST = ("cpu", "memory", "nodefs", "pods", "cpu_requests", "memory_requests")
TOP_PODS = 5


class Row(msgspec.Struct, array_like=True, frozen=True):
    """One node as the last scan saw it; ``values`` in ``METRICS`` order, percent, None where unknown."""

    name: str
    group: str
    ready: str  # "True" | "False" | "Unknown"
    unschedulable: bool
    taints: list[tuple[str, str]]  # (key, effect)
    conditions: list[str]  # the abnormal ones: "DiskPressure", "Ready=Unknown"
    values: list[float | None]
    pods: int
    pods_allocatable: int
    memory_capacity: int
    memory_allocatable: int
    top_pods: list[tuple[str, str, float, int]] = []  # (namespace, name, cpu m, memory bytes)

    def value(self, metric: str) -> float | None:
        return self.values[METRICS.index(metric)]


class Summary(msgspec.Struct, frozen=True):
    """A cluster at its last scan, for the fleet page."""

    t: float  # the scan's time
    nodes: int
    ready: int
    cordoned: int
    worst: dict[str, tuple[float, str]]  # metric -> (percent, node)
    warnings: list[str]  # degraded reads (metrics API absent, Summary forbidden, ...)


class View(msgspec.Struct, frozen=True):
    t: float
    rows: list[Row]


_encode = msgspec.json.Encoder().encode
_view = msgspec.json.Decoder(View)
_summary = msgspec.json.Decoder(Summary)


def _abnormal(node: NodeSample) -> list[str]:
    out = []
    for c in node.conditions.values():
        if c.type == "Ready":
            if c.status != "True":
                out.append(f"Ready={c.status}")
        elif c.status == "True":
            out.append(c.type)
    if "Ready" not in node.conditions:
        out.append("Ready=Unknown")
    return sorted(out)


def row(node: NodeSample, group: str) -> Row:
    values = model_history.values(node)
    return Row(
        name=node.name,
        group=group,
        ready=node.ready,
        unschedulable=node.unschedulable,
        taints=[(t.key, t.effect) for t in node.taints],
        conditions=_abnormal(node),
        values=[None if values[m] is None else round(values[m] or 0.0, 1) for m in METRICS],
        pods=node.pod_count,
        pods_allocatable=node.allocatable.pods,
        memory_capacity=node.capacity.memory,
        memory_allocatable=node.allocatable.memory,
        top_pods=[(p.namespace, p.name, p.cpu_m, p.memory) for p in node.top_pods[:TOP_PODS]],
    )


def summarize(t: float, rows: Iterable[Row], warnings: Iterable[str]) -> Summary:
    worst: dict[str, tuple[float, str]] = {}
    nodes = ready = cordoned = 0
    for r in rows:
        nodes += 1
        ready += r.ready == "True"
        cordoned += r.unschedulable
        for m in WORST:
            v = r.value(m)
            if v is not None and (m not in worst or v > worst[m][0]):
                worst[m] = (v, r.name)
    return Summary(t=t, nodes=nodes, ready=ready, cordoned=cordoned, worst=worst, warnings=list(warnings))


def encode(sample: ClusterSample, group_of: Callable[[Mapping[str, str]], str]) -> tuple[bytes, bytes]:
    """(view, summary) of one scan, as stored; unreadable nodes are left out (the inventory keeps them)."""
    t = sample.taken_at.timestamp()
    rows = [row(n, group_of(n.labels)) for n in sample.nodes if n.name not in sample.unreadable]
    return _encode(View(t, rows)), _encode(summarize(t, rows, sample.warnings))


class NodeViewStore:
    def __init__(self, client: Any) -> None:
        self.r: Any = client

    def queue(self, pipe: Any, cluster: str, view: bytes, summary: bytes) -> None:
        """Queue the writes of one scan's view on ``pipe`` (the history's round trip)."""
        pipe.set(keys.view(cluster), view, ex=keys.ALERTS_TTL)
        pipe.set(keys.view_summary(cluster), summary, ex=keys.ALERTS_TTL)

    def load(self, cluster: str) -> View | None:
        raw = self.r.get(keys.view(cluster))
        return _view.decode(raw) if raw else None

    def read_summary(self, batch: Batch, cluster: str) -> Result[Summary | None]:
        start = batch.mark()
        batch.pipe.get(keys.view_summary(cluster))
        return batch.since(start, lambda r: _summary.decode(r[0]) if r[0] else None)

    def stage_forget(self, tx: Transaction, cluster: str) -> None:
        tx.call("DEL", keys.view(cluster))
        tx.call("DEL", keys.view_summary(cluster))
