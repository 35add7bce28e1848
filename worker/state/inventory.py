"""The last scan's nodes, kept between scans for the rules that compare (labels, membership, ready_drop).

Only what those rules read is kept (labels, taints, cordon, Ready, when last Ready), as one JSON document per
cluster: about 400 bytes per node with typical labels.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from worker.model import ClusterSample, Condition, NodeSample, Taint
from worker.state import keys


def _ts(d: datetime | None) -> float | None:
    return d.timestamp() if d else None


def _dt(x: float | None) -> datetime | None:
    return datetime.fromtimestamp(x, UTC) if x is not None else None


def encode(sample: ClusterSample, last_ready: Mapping[str, datetime]) -> str:
    nodes = {
        n.name: {
            "labels": n.labels,
            "taints": [[t.key, t.effect, t.value, _ts(t.time_added)] for t in n.taints],
            "unschedulable": n.unschedulable,
            "ready": n.ready,
        }
        for n in sample.nodes
    }
    return json.dumps({"nodes": nodes, "last_ready": {k: v.timestamp() for k, v in last_ready.items()}})


def decode(cluster: str, raw: str | None) -> tuple[dict[str, NodeSample] | None, dict[str, datetime] | None]:
    """(previous nodes by name, last Ready times); (None, None) before the first scan."""
    if not raw:
        return None, None
    doc: dict[str, Any] = json.loads(raw)
    previous = {
        name: NodeSample(
            cluster=cluster,
            name=name,
            labels=dict(n["labels"]),
            unschedulable=bool(n["unschedulable"]),
            taints=tuple(Taint(k, e, v, _dt(t)) for k, e, v, t in n["taints"]),
            conditions={"Ready": Condition("Ready", n["ready"])},
        )
        for name, n in doc["nodes"].items()
    }
    last_ready = {k: datetime.fromtimestamp(v, UTC) for k, v in doc["last_ready"].items()}
    return previous, last_ready


def load(r: Any, cluster: str) -> tuple[dict[str, NodeSample] | None, dict[str, datetime] | None]:
    return decode(cluster, r.get(keys.nodes(cluster)))


def save(r: Any, sample: ClusterSample, last_ready: Mapping[str, datetime]) -> None:
    r.set(keys.nodes(sample.cluster), encode(sample, last_ready), ex=keys.ALERTS_TTL)
