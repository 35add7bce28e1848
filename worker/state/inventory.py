"""The last scan's nodes, kept between scans for the rules that compare (labels, membership, ready_drop).

Only what those rules read is kept (labels, taints, cordon, Ready, when last Ready), as one hash per cluster with
one field per node (~400 bytes with typical labels) plus ``~scan``, the time of the last scan. A node Ready at
that scan stores no "last Ready" time of its own (it is ``~scan``), so a steady cluster rewrites one field per
scan, not the whole inventory: a scan writes only the nodes whose entry changed (``diff``).

``InventoryStore`` keeps it in Redis (keys.py: ``inv`` of each cluster) with the count of failed scans in a row
(``fails``): both are read with the scan's state and written in the scan's one commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from worker.model import ClusterSample, Condition, NodeSample, Taint
from worker.state import keys
from worker.state.batch import Batch, Result, Transaction

SCAN_FIELD = "~scan"  # not a valid node name

_encode = msgspec.json.Encoder().encode


def _ts(d: datetime | None) -> float | None:
    return d.timestamp() if d else None


def _dt(x: float | None) -> datetime | None:
    return datetime.fromtimestamp(x, UTC) if x is not None else None


def entry(node: NodeSample, last_ready: datetime | None) -> str:
    """One node's field value: [labels, taints, unschedulable, ready, last Ready if not Ready now]."""
    taints = [[t.key, t.effect, t.value, _ts(t.time_added)] for t in node.taints]
    ready = node.ready
    since = None if ready == "True" else _ts(last_ready)
    return _encode([node.labels, taints, node.unschedulable, ready, since]).decode()


@dataclass
class Diff:
    """What a scan writes: changed fields (``~scan`` always) and the nodes gone."""

    set: dict[str, str] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)


def diff(previous: Mapping[str, str], sample: ClusterSample, last_ready: Mapping[str, datetime]) -> Diff:
    """The writes that turn the stored hash ``previous`` into this scan's inventory. A node listed but unreadable
    (``sample.unreadable``) keeps its entry as it was: it is still there."""
    out = Diff(set={SCAN_FIELD: repr(sample.taken_at.timestamp())})
    seen = set()
    for node in sample.nodes:
        seen.add(node.name)
        value = entry(node, last_ready.get(node.name))
        if previous.get(node.name) != value:
            out.set[node.name] = value
    out.delete = [
        name for name in previous if name != SCAN_FIELD and name not in seen and name not in sample.unreadable
    ]
    return out


def decode(
    cluster: str, raw: Mapping[str, str]
) -> tuple[dict[str, NodeSample] | None, dict[str, datetime] | None]:
    """(previous nodes by name, last Ready times); (None, None) before the first scan."""
    if SCAN_FIELD not in raw:
        return None, None
    scanned = datetime.fromtimestamp(float(raw[SCAN_FIELD]), UTC)
    previous: dict[str, NodeSample] = {}
    last_ready: dict[str, datetime] = {}
    for name, value in raw.items():
        if name == SCAN_FIELD:
            continue
        previous[name], since = node(cluster, name, value)
        ready = previous[name].ready
        when = scanned if ready == "True" else _dt(since)
        if when is not None:
            last_ready[name] = when
    return previous, last_ready


def node(cluster: str, name: str, value: str) -> tuple[NodeSample, float | None]:
    """One field of the hash: the node as kept (labels, taints, cordon, Ready) and when it was last Ready if it is
    not now (None: Ready now, or never seen Ready)."""
    labels, taints, unschedulable, ready, since = _decode_entry(value)
    sample = NodeSample(
        cluster=cluster,
        name=name,
        labels=dict(labels),
        unschedulable=bool(unschedulable),
        taints=tuple(Taint(k, e, v, _dt(t)) for k, e, v, t in taints),
        conditions={"Ready": Condition("Ready", ready)},
    )
    return sample, since


_decode_entry: Any = msgspec.json.Decoder().decode


@dataclass(frozen=True)
class ScanInventory:
    """What a scan reads of the inventory: the raw hash (``decode`` reads it) and the failed scans in a row."""

    nodes: dict[str, str]
    failures: int


class InventoryStore:
    def __init__(self, client: Any) -> None:
        self.r: Any = client

    def load(self, cluster: str) -> tuple[dict[str, NodeSample] | None, dict[str, datetime] | None]:
        return decode(cluster, self.r.hgetall(keys.nodes(cluster)))

    def named(self, cluster: str, names: list[str]) -> dict[str, NodeSample]:
        """The kept state of the nodes ``names`` (one HMGET: a page of the dashboard's table), those present."""
        if not names:
            return {}
        values = self.r.hmget(keys.nodes(cluster), names)
        return {n: node(cluster, n, v)[0] for n, v in zip(names, values, strict=True) if v is not None}

    def failures(self, cluster: str) -> int:
        """Failed scans in a row."""
        return int(self.r.get(keys.failures(cluster)) or 0)

    def read_scan(self, batch: Batch, cluster: str) -> Result[ScanInventory]:
        start = batch.mark()
        batch.pipe.hgetall(keys.nodes(cluster))
        batch.pipe.get(keys.failures(cluster))
        return batch.since(start, lambda r: ScanInventory(r[0], int(r[1] or 0)))

    def read_failures(self, batch: Batch, cluster: str) -> Result[int]:
        start = batch.mark()
        batch.pipe.get(keys.failures(cluster))
        return batch.since(start, lambda r: int(r[0] or 0))

    def stage_scan(self, tx: Transaction, cluster: str, changes: Diff | None) -> None:
        """A scan's inventory changes, which clear the failure count; ``changes`` None: the scan failed, the
        count goes up (the caller knows the new count: it read the old one with the scan's state, under the
        scan lock)."""
        if changes is None:
            tx.call("INCR", keys.failures(cluster))
            tx.call("EXPIRE", keys.failures(cluster), keys.ALERTS_TTL)
            return
        tx.call("DEL", keys.failures(cluster))
        if changes.set:
            tx.hset(keys.nodes(cluster), changes.set)
        if changes.delete:
            tx.call("HDEL", keys.nodes(cluster), *changes.delete)
        tx.call("EXPIRE", keys.nodes(cluster), keys.ALERTS_TTL)

    def stage_forget(self, tx: Transaction, cluster: str) -> None:
        tx.call("DEL", keys.nodes(cluster))
        tx.call("DEL", keys.failures(cluster))
