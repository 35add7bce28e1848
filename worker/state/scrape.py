"""What a /metrics scrape reads (worker/metrics), in at most three pipelined round trips, whatever the fleet.

1. the clusters: the schedule (``nw:sched``: every configured cluster and its next due time);
2. per cluster its last scan record (``status``), its scan counters (``counts``, written with the scan record:
   schedule.py), its open alerts (``alerts``) and, with per-node series on, its inventory (``inv``: labels and
   Ready of every node); fleet-wide the delivery counters (``nw:stats``), the dead letters and the length of each
   Celery queue in the broker (the same Redis);
3. with per-node series on: the ``s`` field of each node's history (worker/state/history_codec.py: the last value
   of every metric, ~150 bytes a node), never the streams.

Nothing is written: a scrape is read-only, and two scrapes at once are harmless.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from redis.client import NEVER_DECODE

from worker.state import keys
from worker.state.history_codec import last_values
from worker.state.inventory import SCAN_FIELD

_decode_entry: Any = msgspec.json.Decoder().decode


@dataclass
class NodeFigures:
    labels: dict[str, str]
    ready: str  # the node's Ready condition at the last scan: True | False | Unknown
    unschedulable: bool
    sampled_at: float = 0.0  # the node's last history sample (0: none)
    percent: dict[str, float] = field(default_factory=dict)  # history metric -> last value in percent


@dataclass
class AlertFigures:
    rule: str
    severity: str
    status: str  # pending | firing
    node: str


@dataclass
class ClusterFigures:
    name: str
    next_due: float | None
    status: dict[str, str]  # the last scan record (schedule.record_scan); {} before the first scan
    counts: dict[str, str]  # the scan counters (schedule.record_scan)
    alerts: list[AlertFigures]
    nodes: dict[str, NodeFigures] | None  # None: per-node series off


@dataclass
class Snapshot:
    clusters: list[ClusterFigures]
    stats: dict[str, int]  # nw:stats: delivered/retried/deadlettered/held/digests/suppressed per receiver
    dead_letters: int
    queues: dict[str, int]  # Celery queue -> messages waiting in the broker


def _alerts(raw: Iterable[str]) -> list[AlertFigures]:
    out = []
    for value in raw:
        d = json.loads(value)
        out.append(AlertFigures(str(d["rule"]), str(d["severity"]), str(d["status"]), str(d.get("node", ""))))
    return out


def _nodes(raw: dict[str, str]) -> dict[str, NodeFigures]:
    out = {}
    for name, value in raw.items():
        if name == SCAN_FIELD:
            continue
        labels, _taints, unschedulable, ready, _since = _decode_entry(value)
        out[name] = NodeFigures(dict(labels), str(ready), bool(unschedulable))
    return out


def read(client: Any, queues: Sequence[str], node_series: bool = True) -> Snapshot:
    """Everything /metrics shows, read now (see the module docstring for the round trips)."""
    due = client.zrange(keys.SCHEDULE, 0, -1, withscores=True)
    pipe = client.pipeline(transaction=False)
    for name, _ in due:
        pipe.hgetall(keys.status(name))
        pipe.hgetall(keys.counts(name))
        pipe.hvals(keys.alerts(name))
        if node_series:
            pipe.hgetall(keys.nodes(name))
    pipe.hgetall(keys.STATS)
    pipe.llen(keys.DEADLETTERS)
    for q in queues:
        pipe.llen(q)
    got = pipe.execute()
    per = 4 if node_series else 3
    clusters = []
    for i, (name, score) in enumerate(due):
        status, counts, alerts = got[per * i : per * i + 3]
        nodes = _nodes(got[per * i + 3]) if node_series else None
        clusters.append(ClusterFigures(name, float(score), status, counts, _alerts(alerts), nodes))
    rest = got[per * len(due) :]
    stats = {k: int(v) for k, v in rest[0].items()}
    snapshot = Snapshot(clusters, stats, int(rest[1]), dict(zip(queues, map(int, rest[2:]), strict=True)))
    if node_series:
        _history(client, snapshot.clusters)
    return snapshot


def _history(client: Any, clusters: list[ClusterFigures]) -> None:
    """Each node's last history values: one HGET of its ``s`` field, all in one round trip."""
    wanted = [(c, n) for c in clusters for n in (c.nodes or {}).values()]
    if not wanted:
        return
    pipe = client.pipeline(transaction=False)
    for c in clusters:
        for name in c.nodes or {}:
            pipe.execute_command("HGET", keys.history(c.name, name), "s", **{NEVER_DECODE: []})
    for (_, node), state in zip(wanted, pipe.execute(), strict=True):
        if state:
            node.sampled_at, node.percent = last_values(state)
